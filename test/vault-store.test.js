// The vault's key store in Node, with Node's WebCrypto: sealing (AES-GCM under a
// non-extractable key; any key length), records that do not open once altered or moved,
// per-origin listing, deleting and sharing, and the vault's service: a saved key opened into
// wasm memory only when a socket needs it, a page's wasmUrl refused, a failed save reported
// while the key still works. Node has no IndexedDB: the records live in the MemoryBackend (the
// vault's own fallback); the browsers' IndexedDB is exercised in test/e2e/vault-suite.js.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { startBridge } from '../lib/node/bridge.js';
import { KeyStore, sharePolicy } from '../lib/vault/key-store.js';
import { isSealedPsk, newWrappingKey, seal, unseal } from '../lib/vault/seal.js';
import { MemoryBackend } from '../lib/vault/store-backend.js';
import { VaultService } from '../lib/vault/vault-service.js';
import { openChannel } from '../lib/worker/channel.js';
import { createTlsWorker } from '../lib/worker/index.js';
import { nodeTlsEchoServer, stopPeers } from './helpers/peers.js';

const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const A = 'https://a.example';
const B = 'https://b.example';

after(stopPeers);

describe('sealing', () => {
  test('the wrapping key is AES-GCM and cannot be exported', async () => {
    const key = await newWrappingKey();
    assert.equal(key.extractable, false);
    assert.equal(key.algorithm.name, 'AES-GCM');
    await assert.rejects(webcrypto.subtle.exportKey('raw', key));
  });

  test('keys of any length (16, 20, 33, 48 bytes: not all multiples of 8, which AES-KW needs) seal and open; the record holds no key byte run', async () => {
    const wrapping = await newWrappingKey();
    for (const length of [16, 20, 33, 48]) {
      const key = random(length);
      const record = await seal(wrapping, A, 'dev', 'TLS_AES_128_GCM_SHA256', key);
      assert.ok(isSealedPsk(record));
      assert.equal(record.sealed.length, length + 16);
      assert.equal(Buffer.from(record.sealed).includes(Buffer.from(key.subarray(0, 8))), false);
      assert.deepEqual(await unseal(wrapping, record), key);
    }
  });

  test('a record altered, moved to another owner or identity, or opened under another wrapping key fails with ERR_STORAGE', async () => {
    const wrapping = await newWrappingKey();
    const record = await seal(wrapping, A, 'dev', 'TLS_AES_128_GCM_SHA256', random(32));
    const flipped = { ...record, sealed: record.sealed.slice() };
    flipped.sealed[3] ^= 1;
    for (const bad of [flipped, { ...record, owner: B }, { ...record, identity: 'other' }, { ...record, cipher: 'TLS_AES_256_GCM_SHA384' }]) {
      await assert.rejects(unseal(wrapping, bad), { code: 'ERR_STORAGE' });
    }
    await assert.rejects(unseal(await newWrappingKey(), record), { code: 'ERR_STORAGE', message: /does not open/ });
  });
});

describe('the key store, per page origin', () => {
  test('an origin lists, opens, deletes and clears its own keys only; another sees none of them', async () => {
    const backend = new MemoryBackend();
    const a = await KeyStore.open(backend, A);
    const b = await KeyStore.open(backend, B);
    const key = random(32);
    await a.save('dev-1', key, 'TLS_AES_128_GCM_SHA256');
    await a.save('dev-2', random(32), 'TLS_AES_256_GCM_SHA384');
    await b.save('dev-b', random(32), 'TLS_AES_128_GCM_SHA256');
    assert.deepEqual(await a.list(), ['dev-1', 'dev-2']);
    assert.deepEqual(await b.list(), ['dev-b']);
    assert.deepEqual(await a.open('dev-1'), { key, cipher: 'TLS_AES_128_GCM_SHA256' });
    assert.equal(await b.open('dev-1'), null);
    assert.equal(await b.delete('dev-1'), false, "not B's to delete");
    assert.equal(await a.delete('dev-1'), true);
    assert.equal(await a.delete('dev-1'), false);
    assert.equal(await a.clear(), 1);
    assert.deepEqual(await a.list(), []);
    assert.deepEqual(await b.list(), ['dev-b']);
  });

  test("the configuration may share an owner's keys with other origins: they use them, cannot delete them, and their own key of the same identity comes first", async () => {
    const backend = new MemoryBackend();
    const share = sharePolicy({ [A]: [B] });
    const a = await KeyStore.open(backend, A, share);
    const b = await KeyStore.open(backend, B, share);
    const fromA = random(32);
    await a.save('shared', fromA, 'TLS_AES_128_GCM_SHA256');
    assert.deepEqual(await b.list(), ['shared']);
    assert.deepEqual((await b.open('shared')).key, fromA);
    assert.equal(await b.delete('shared'), false);
    assert.equal(await b.clear(), 0);
    const own = random(32);
    await b.save('shared', own, 'TLS_AES_128_GCM_SHA256');
    assert.deepEqual((await b.open('shared')).key, own);
    assert.deepEqual(await a.list(), ['shared'], 'sharing goes one way');
    assert.deepEqual((await a.open('shared')).key, fromA);
    assert.throws(() => sharePolicy({ [A]: B }), { code: 'ERR_VAULT' });
  });

  test('two stores opening one backend at once end up with one wrapping key', async () => {
    const backend = new MemoryBackend();
    const [a, again] = await Promise.all([KeyStore.open(backend, A), KeyStore.open(backend, A)]);
    const key = random(32);
    await a.save('dev', key, 'TLS_AES_128_GCM_SHA256');
    assert.deepEqual((await again.open('dev')).key, key);
  });
});

describe("the vault's service", () => {
  /** A socket of `service` to `url`, its page end over a MessagePort; echoes `text`. */
  async function echo(service, id, url, identity, text) {
    const page = openChannel('port', async (e) => e);
    await service.open(id, 'client', url, { identity }, page.channel);
    const writer = page.writable.getWriter();
    const reader = page.readable.getReader();
    await writer.write(new TextEncoder().encode(text));
    const { value } = await reader.read();
    await service.close(id);
    return new TextDecoder().decode(value);
  }

  test('imported: sealed in the store and in wasm memory; after a "reload" (a new service on the store) listed, not in wasm memory until a socket needs it', async () => {
    const key = random(32);
    const server = await nodeTlsEchoServer({ identity: 'dev', key });
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
    const backend = new MemoryBackend();
    const first = new VaultService(await KeyStore.open(backend, A));
    const second = new VaultService(await KeyStore.open(backend, A));
    try {
      const buffer = key.slice().buffer;
      await first.importPsk('dev', buffer);
      assert.deepEqual(new Uint8Array(buffer), new Uint8Array(32), 'the buffer it came in is wiped');
      assert.equal(first.holds('dev'), true);
      const [record] = await backend.all();
      assert.equal(record.owner, A);
      assert.equal(Buffer.from(record.sealed).includes(Buffer.from(key)), false);

      assert.deepEqual(await second.listPsks(), ['dev']);
      assert.equal(second.holds('dev'), false);
      assert.equal(await echo(second, 1, `${bridge.url}/127.0.0.1:${server.port}`, 'dev', 'ping'), 'ping');
      assert.equal(second.holds('dev'), true);

      assert.equal(await second.deletePsk('dev'), true);
      assert.equal(second.holds('dev'), false);
      assert.deepEqual(await first.listPsks(), ['dev'], 'still in the first worker, which imported it');
      assert.equal(await first.clearStore(), 1);
      assert.deepEqual(await first.listPsks(), []);
    } finally {
      await first.clearStore();
      await second.clearStore();
      await bridge.close();
      await server.stop();
    }
  });

  test("a page's wasmUrl is refused (ERR_VAULT): a module of the page's making would see the keys", async () => {
    const service = new VaultService(await KeyStore.open(new MemoryBackend(), A));
    await assert.rejects(service.start({ wasmUrl: 'https://evil.example/x.wasm' }), { code: 'ERR_VAULT' });
    await service.start({});
  });

  test('a save that fails: importPsk fails with ERR_STORAGE, the key is listed and works for this worker; a bad suite saves nothing', async () => {
    class FailingWrites extends MemoryBackend {
      async put() {
        throw new Error('disk full');
      }
    }
    const service = new VaultService(await KeyStore.open(new FailingWrites(), A));
    try {
      await assert.rejects(service.importPsk('dev', random(32).buffer), {
        code: 'ERR_STORAGE',
        message: /imported for this worker only: saving it failed \(Error: disk full\)/,
      });
      assert.equal(service.holds('dev'), true);
      assert.deepEqual(await service.listPsks(), ['dev']);
      await assert.rejects(service.importPsk('x', random(32).buffer, { cipher: 'TLS_NOPE' }), { code: 'ERR_INVALID_ARGUMENT' });
      assert.equal(service.holds('x'), false);
    } finally {
      await service.clearStore();
    }
  });
});

describe('createTlsWorker() options in Node', () => {
  test('vault needs a page (ERR_VAULT), store a browser (ERR_INVALID_ARGUMENT); vault excludes store, workerUrl and wasmUrl', async () => {
    await assert.rejects(createTlsWorker({ vault: 'https://keys.example/vault.html' }), { code: 'ERR_VAULT', message: /needs a page/ });
    await assert.rejects(createTlsWorker({ store: 'x' }), { code: 'ERR_INVALID_ARGUMENT', message: /IndexedDB/ });
    await assert.rejects(createTlsWorker({ vault: 'https://keys.example/vault.html', store: 'x' }), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(createTlsWorker({ vault: 'https://keys.example/vault.html', wasmUrl: 'https://cdn.example/x.wasm' }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /the vault's/,
    });
  });
});
