// The TLS worker on Node's worker_threads: keys imported by transfer and kept out of the
// page, sessions to openssl s_server through the bridge, two workers at once, a terminated or
// crashed worker failing its sockets with ERR_WORKER_GONE; a compromised page's raw messages
// refused. Each runs on both stream paths (transferred streams, and a MessagePort with credit).
// The browser tests run the same functions (test/e2e/worker-run.js) in Chromium, Firefox and
// WebKit.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { after, describe, test } from 'node:test';
import { createTlsWorker as createShippedWorker } from '../lib/worker/index.js';
import { nodeTlsEchoServer, nodeTlsServer, pskArgs, silentServer, stopPeers, waitUntil } from './helpers/peers.js';
import { pbkdf2, serverBehindBridge } from './helpers/setups.js';
import { startBridge } from '../lib/node/bridge.js';
import { hookedWorker, passphraseSession, portFlood, rawMessages, twoWorkers, workerBulkEcho, workerSession } from './e2e/worker-run.js';
import { checkBulkEcho, checkPortFlood, checkRawMessages, checkTwoWorkers, checkWorkerSession } from './e2e/worker-checks.js';

after(stopPeers);

const DEBUG_WORKER = new URL('./workers/node-debug-tls-worker.js', import.meta.url);
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));

for (const streams of ['transfer', 'port']) {
  /** A test worker (the shipped service plus memoryContains(), crash(), pollution()) on this stream path. */
  const createTlsWorker = (options = {}) => createShippedWorker({ workerUrl: DEBUG_WORKER, streams, ...options });

  describe(`streams: ${streams}`, () => {
    for (const [name, args, options] of [
      ['TLS 1.3', ['-tls1_3'], {}],
      ['TLS 1.2', ['-tls1_2', '-cipher', 'ECDHE-PSK-CHACHA20-POLY1305'], { maxVersion: 'TLSv1.2' }],
    ]) {
      test(`${name} PSK to openssl s_server; the key is transferred in, never sent back, and wiped when deleted`, async () => {
        const key = random(32);
        const peer = await serverBehindBridge([...args, ...pskArgs('worker-1', key)]);
        const r = await workerSession(createTlsWorker, { url: peer.url, identity: 'worker-1', keyHex: hex(key), options });
        await peer.stop();
        checkWorkerSession(r, name === 'TLS 1.3' ? 'TLSv1.3' : 'TLSv1.2');
      });
    }

    test('close() right after a write: the peer gets every byte written before close_notify (50 sockets)', async () => {
      const key = random(32);
      const received = [];
      const server = await nodeTlsServer({ identity: 'order', key }, (socket) => {
        const chunks = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('end', () => received.push(Buffer.concat(chunks).toString()));
        socket.on('end', () => socket.end());
      });
      const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
      const worker = await createTlsWorker();
      try {
        await worker.importPsk('order', key.slice().buffer);
        const sent = [];
        for (let i = 0; i < 50; i++) {
          const socket = worker.connect(`${bridge.url}/127.0.0.1:${server.port}`, { identity: 'order' });
          await socket.opened;
          const writer = socket.writable.getWriter();
          const line = `line ${i} `.repeat(1 + (i % 7) * 300);
          await writer.write(new TextEncoder().encode(line));
          await socket.close(); // no writer.close(): the write above has resolved, that is enough
          sent.push(line);
        }
        await waitUntil(() => received.length === sent.length, 10_000);
        assert.deepEqual(received.sort(), sent.sort());
      } finally {
        worker.terminate();
        await bridge.close();
        await server.stop();
      }
    });

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
          checkTwoWorkers(r);
        } finally {
          await peerA.stop();
          await peerB.stop();
        }
      });
    }

    test('4 MiB echoed byte for byte both ways at once (backpressure across the boundary); the caller keeps its buffers', async () => {
      const key = random(32);
      const server = await nodeTlsEchoServer({ identity: 'bulk', key });
      const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
      try {
        const r = await workerBulkEcho(createTlsWorker, { url: `${bridge.url}/127.0.0.1:${server.port}`, identity: 'bulk', keyHex: hex(key), bytes: 4 << 20 });
        checkBulkEcho(r, 4 << 20);
      } finally {
        await bridge.close();
        await server.stop();
      }
    });
  });
}

describe('a compromised page', () => {
  const createTlsWorker = (options = {}) => createShippedWorker({ workerUrl: DEBUG_WORKER, ...options });

  test('raw generic-RPC messages (get, set, construct along paths) and malformed calls are refused; Object.prototype untouched; the worker still works', async () => {
    const key = random(32);
    const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('raw', key)]);
    try {
      const r = await rawMessages(createTlsWorker, Worker, { url: peer.url, identity: 'raw', keyHex: hex(key) });
      checkRawMessages(r, { testWorker: true });
    } finally {
      await peer.stop();
    }
  });

  test('close() claiming more bytes than the page wrote: the socket still closes, after a bounded wait', async () => {
    const key = random(32);
    const server = await nodeTlsEchoServer({ identity: 'claim', key });
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
    const { worker, replies, raw } = await hookedWorker(createTlsWorker, Worker);
    try {
      await worker.importPsk('claim', key.slice().buffer);
      const socket = worker.connect(`${bridge.url}/127.0.0.1:${server.port}`, { identity: 'claim' });
      await socket.opened;
      raw({ call: 9900, method: 'close', args: [1, Number.MAX_SAFE_INTEGER] });
      await socket.closed;
      await waitUntil(() => replies.some((r) => r && r.reply === 9900), 5_000);
      assert.equal(replies.find((r) => r && r.reply === 9900).error, undefined);
    } finally {
      worker.terminate();
      await bridge.close();
      await server.stop();
    }
  });

  test('the shipped worker has no test methods: memoryContains, crash and pollution are refused like any unknown name', async () => {
    const key = random(32);
    const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('raw', key)]);
    try {
      const r = await rawMessages(createShippedWorker, Worker, { url: peer.url, identity: 'raw', keyHex: hex(key), testWorker: false });
      checkRawMessages(r, { testWorker: false });
    } finally {
      await peer.stop();
    }
  });

  test('chunks sent on a socket port without credit fail that socket with a typed error; a neighbour socket goes on', async () => {
    const key = random(32);
    const server = await nodeTlsEchoServer({ identity: 'flood', key });
    const silent = await silentServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`, `127.0.0.1:${silent.port}`] });
    try {
      const r = await portFlood(createTlsWorker, Worker, {
        url: `${bridge.url}/127.0.0.1:${server.port}`,
        silentUrl: `${bridge.url}/127.0.0.1:${silent.port}`,
        identity: 'flood',
        keyHex: hex(key),
      });
      checkPortFlood(r);
    } finally {
      await bridge.close();
      await silent.stop();
      await server.stop();
    }
  });
});

test('a PSK derived from a passphrase inside the worker (PBKDF2-SHA256)', async () => {
  const salt = random(16);
  const key = await pbkdf2('correct horse battery staple', salt, 10000);
  const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('pass', key)]);
  const r = await passphraseSession(createShippedWorker, {
    url: peer.url,
    identity: 'pass',
    passphrase: 'correct horse battery staple',
    saltHex: hex(salt),
    iterations: 10000,
  });
  await peer.stop();
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.echoed, 'devired\n');
});

test('errors cross the boundary typed: bad arguments, unknown identities, failed handshakes, values that cannot be cloned', async () => {
  const worker = await createShippedWorker();
  try {
    await assert.rejects(worker.importPsk('x', new Uint8Array(32)), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(worker.importPsk('', new ArrayBuffer(32)), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(worker.importPsk('x', new ArrayBuffer(32), { cipher: 'TLS_NOPE' }), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(
      worker.importPskFromPassphrase('x', 'pass', new Uint8Array(16), { iterations: () => 1 }),
      (e) => e.name === 'TlsError' && e.code === 'ERR_INVALID_ARGUMENT' && e.cause !== undefined,
    );
    await worker.importPsk('known', random(32).buffer);
    assert.deepEqual(await worker.listPsks(), ['known']);
    const unknown = worker.connect('ws://127.0.0.1:1/', { identity: 'unknown' });
    await assert.rejects(unknown.opened, (e) => e.code === 'ERR_INVALID_ARGUMENT' && /no PSK imported/.test(e.message));
    await assert.rejects(unknown.closed, { code: 'ERR_INVALID_ARGUMENT' });
    const symbolic = worker.connect('ws://127.0.0.1:1/', { identity: 'known', serverName: Symbol('x') });
    await assert.rejects(symbolic.opened, (e) => e.name === 'TlsError' && e.code === 'ERR_INVALID_ARGUMENT');
    await assert.rejects(symbolic.readable.getReader().read(), (e) => e.name === 'TlsError');
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
