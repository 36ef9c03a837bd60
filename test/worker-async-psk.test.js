// The TLS worker's accept() with asyncLookup (Node worker_threads): each identity a client
// offers is looked up in the worker's key store when the handshake asks for it (acceptTls's
// findPsk inside the worker), through a relay, against connectTls clients in this process.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { connectTls } from '../lib/index.js';
import { createTlsWorker } from '../lib/worker/index.js';
import { startRelay } from './helpers/relay.js';

const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const text = (s) => new TextEncoder().encode(s);
const str = (b) => new TextDecoder().decode(b);

const relay = await startRelay();
after(() => relay.close());
let room = 0;

/** A worker accept() and a connectTls client in one relay room. */
function pairInRoom(worker, acceptOptions, clientOptions) {
  const url = `${relay.url}/async-${++room}`;
  const server = worker.accept(url, acceptOptions);
  const client = connectTls(url, clientOptions);
  return { server, client };
}

describe('worker accept({ asyncLookup })', () => {
  test('a client whose identity is in the store completes a TLS 1.3 handshake; data flows both ways', async () => {
    const worker = await createTlsWorker();
    try {
      const key = random(32);
      const sha384 = random(48);
      await worker.importPsk('dev-1', key.slice().buffer);
      await worker.importPsk('dev-384', sha384.slice().buffer, { cipher: 'TLS_AES_256_GCM_SHA384' });
      for (const [identity, k, cipher] of [
        ['dev-1', key, undefined],
        ['dev-384', sha384, 'TLS_AES_256_GCM_SHA384'],
      ]) {
        const { server, client } = pairInRoom(worker, { asyncLookup: true }, { psk: { identity, key: k, ...(cipher ? { cipher } : {}) } });
        const [serverInfo, clientInfo] = await Promise.all([server.opened, client.opened]);
        assert.equal(serverInfo.protocol, 'TLSv1.3');
        assert.equal(clientInfo.sessionReused, true);
        if (cipher) assert.equal(clientInfo.cipher, cipher);
        const writer = client.writable.getWriter();
        await writer.write(text(`hello ${identity}`));
        const reader = server.readable.getReader();
        assert.equal(str((await reader.read()).value), `hello ${identity}`);
        reader.releaseLock();
        writer.releaseLock();
        await Promise.all([client.close(), server.close()]);
      }
    } finally {
      worker.terminate();
    }
  });

  test('an identity not in the store, or not among `identities`: unknown_psk_identity on both sides', async () => {
    const worker = await createTlsWorker();
    try {
      const key = random(32);
      await worker.importPsk('dev-1', key.slice().buffer);
      await worker.importPsk('dev-2', key.slice().buffer);
      for (const [identity, options] of [
        ['stranger', { asyncLookup: true }],
        ['dev-2', { asyncLookup: true, identities: ['dev-1'] }],
      ]) {
        const { server, client } = pairInRoom(worker, options, { psk: { identity, key } });
        await assert.rejects(client.opened, { code: 'ERR_PSK_UNKNOWN_IDENTITY' });
        await assert.rejects(server.opened, { code: 'ERR_PSK_UNKNOWN_IDENTITY' });
      }
    } finally {
      worker.terminate();
    }
  });

  test('a TLS 1.2 client is refused with protocol_version; asyncLookup is for accept() and must be a boolean', async () => {
    const worker = await createTlsWorker();
    try {
      const key = random(32);
      await worker.importPsk('dev-1', key.slice().buffer);
      const { server, client } = pairInRoom(worker, { asyncLookup: true }, { psk: { identity: 'dev-1', key }, maxVersion: 'TLSv1.2' });
      await assert.rejects(client.opened, { code: 'ERR_PROTOCOL_VERSION' });
      await assert.rejects(server.opened, { code: 'ERR_PROTOCOL_VERSION' });
      await assert.rejects(worker.connect(`${relay.url}/nobody`, { asyncLookup: true }).opened, { code: 'ERR_INVALID_ARGUMENT' });
      await assert.rejects(worker.accept(`${relay.url}/nobody`, { asyncLookup: 'yes' }).opened, { code: 'ERR_INVALID_ARGUMENT' });
    } finally {
      worker.terminate();
    }
  });
});
