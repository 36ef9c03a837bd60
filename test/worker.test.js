// The TLS worker on Node's worker_threads: keys imported by transfer and kept out of the
// page, sessions to openssl s_server through the bridge, two workers at once, a terminated or
// crashed worker failing its sockets with ERR_WORKER_GONE. The Playwright tests run the same
// sessions (test/e2e/worker-run.js) in a Web Worker under a strict Content-Security-Policy.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createTlsWorker } from '../lib/worker/index.js';
import { pskArgs, stopPeers } from './helpers/peers.js';
import { pbkdf2, serverBehindBridge } from './helpers/setups.js';
import { passphraseSession, twoWorkers, workerSession } from './e2e/worker-run.js';

after(stopPeers);

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));


describe('sessions through a worker thread', () => {
  for (const [name, args, options] of [
    ['TLS 1.3', ['-tls1_3'], {}],
    ['TLS 1.2', ['-tls1_2', '-cipher', 'ECDHE-PSK-CHACHA20-POLY1305'], { maxVersion: 'TLSv1.2' }],
  ]) {
    test(`${name} PSK to openssl s_server; the key is transferred in, never sent back, and wiped when deleted`, async () => {
      const key = random(32);
      const peer = await serverBehindBridge([...args, ...pskArgs('worker-1', key)]);
      const r = await workerSession(createTlsWorker, { url: peer.url, identity: 'worker-1', keyHex: hex(key), options });
      await peer.stop();
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.detached, true, 'the ArrayBuffer was transferred, not copied');
      assert.equal(r.info.protocol, name === 'TLS 1.3' ? 'TLSv1.3' : 'TLSv1.2');
      assert.equal(r.echoOk, true, r.echo);
      assert.equal(r.keyInMemoryDuring, true, 'the worker holds the key while it may need it');
      assert.equal(r.deleted, true);
      assert.equal(r.keyInMemoryAfterDelete, false, 'deletePsk() leaves no copy in wasm memory');
      assert.ok(r.messages > 0);
      assert.equal(r.keyInMessages, false, 'no message to the page carries the key');
    });
  }
});

describe('several workers', () => {
  for (const how of ['terminate', 'crash']) {
    test(`two workers with different keys; one ${how === 'crash' ? 'crashes' : 'is terminated'}: its socket fails with ERR_WORKER_GONE, the other goes on, a new one works`, async () => {
      const keyA = random(32);
      const keyB = random(32);
      const peerA = await serverBehindBridge(['-tls1_3', ...pskArgs('a', keyA)]);
      const peerB = await serverBehindBridge(['-tls1_3', ...pskArgs('b', keyB)]);
      try {
        const r = await twoWorkers(createTlsWorker, {
          a: { url: peerA.url, identity: 'a', keyHex: hex(keyA) },
          b: { url: peerB.url, identity: 'b', keyHex: hex(keyB) },
          how,
        });
        assert.equal(r.firstBefore, 'tsrif\n');
        assert.equal(r.firstAfter.code, 'ERR_WORKER_GONE');
        assert.equal(r.firstClosed.code, 'ERR_WORKER_GONE');
        assert.equal(r.firstCall.code, 'ERR_WORKER_GONE');
        assert.equal(r.secondAfter, 'dnoces\n');
        assert.equal(r.newWorker, 'driht\n');
      } finally {
        await peerA.stop();
        await peerB.stop();
      }
    });
  }
});

test('a PSK derived from a passphrase inside the worker (PBKDF2-SHA256)', async () => {
  const salt = random(16);
  const key = await pbkdf2('correct horse battery staple', salt, 10000);
  const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('pass', key)]);
  const r = await passphraseSession(createTlsWorker, { url: peer.url, identity: 'pass', passphrase: 'correct horse battery staple', saltHex: hex(salt), iterations: 10000 });
  await peer.stop();
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.echoed, 'devired\n');
});

test('errors cross the boundary typed: bad arguments, unknown identities, failed handshakes, debug-only calls', async () => {
  const worker = await createTlsWorker();
  try {
    await assert.rejects(worker.importPsk('x', new Uint8Array(32)), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(worker.importPsk('', new ArrayBuffer(32)), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(worker.importPsk('x', new ArrayBuffer(32), { cipher: 'TLS_NOPE' }), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(worker.memoryContains(new Uint8Array(4)), /only there in a worker created with \{ debug: true \}/);
    await worker.importPsk('known', random(32).buffer);
    assert.deepEqual(await worker.listPsks(), ['known']);
    const unknown = worker.connect('ws://127.0.0.1:1/', { identity: 'unknown' });
    await assert.rejects(unknown.opened, (e) => e.code === 'ERR_INVALID_ARGUMENT' && /no PSK imported/.test(e.message));
    await assert.rejects(unknown.closed, { code: 'ERR_INVALID_ARGUMENT' });
    const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('known', random(32))]);
    const wrong = worker.connect(peer.url, { identity: 'known' });
    await assert.rejects(wrong.opened, (e) => e.code === 'ERR_PSK_WRONG_KEY' && e.alert?.direction === 'received');
    await assert.rejects(wrong.readable.getReader().read(), { code: 'ERR_PSK_WRONG_KEY' });
    await peer.stop();
  } finally {
    worker.terminate();
  }
  await assert.rejects(worker.listPsks(), { code: 'ERR_WORKER_GONE' });
});
