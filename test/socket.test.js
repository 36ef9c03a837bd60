// The socket API's own promises, in Node: backpressure both ways, close_notify sent and
// expected, truncation as an error, WebSocket close codes and TLS alerts as typed errors, early
// data, timeouts, byte-duplex targets (TCP), and a relay that never sees plaintext.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { after, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { acceptTls, connectTls, TlsError } from '../lib/index.js';
import { startBridge } from '../lib/node/bridge.js';
import { runClient } from './e2e/client-run.js';
import { runEchoServer } from './e2e/server-run.js';
import { nodeTlsEchoServer, nodeTlsFloodServer, nodeTlsServer, opensslClient, opensslServer, pskArgs, stopPeers } from './helpers/peers.js';
import { duplexPair } from './helpers/pair.js';
import { startRelay } from './helpers/relay.js';

after(stopPeers);

const key = () => webcrypto.getRandomValues(new Uint8Array(32));
const text = (s) => new TextEncoder().encode(s);
const str = (b) => new TextDecoder().decode(b);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function readAll(readable, { limit = Infinity } = {}) {
  const chunks = [];
  let total = 0;
  for await (const chunk of readable) {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks);
}

/** A TLS-PSK server (Node tls) whose connection handler is given; resolves with { port, close }. */

describe('backpressure', () => {
  test('a reader that does not read stops the sender: at most the read buffer and a few records wait', async () => {
    const psk = { identity: 'bp', key: key() };
    const [a, b] = duplexPair();
    const client = connectTls(a, { psk });
    const server = acceptTls(b, { psk });
    await Promise.all([client.opened, server.opened]);
    const total = 8 << 20;
    const writer = server.writable.getWriter();
    let accepted = 0;
    const writing = (async () => {
      for (let i = 0; i < total; i += 16384) {
        await writer.write(new Uint8Array(16384).fill(i / 16384));
        accepted += 16384;
      }
    })();
    await sleep(300);
    assert.ok(accepted < 1 << 20, `the server got ${accepted} bytes away while nobody read`);
    const received = await readAll(client.readable, { limit: total });
    await writing;
    assert.equal(received.length, total);
    for (let i = 0; i < total; i += 16384) assert.equal(received[i], (i / 16384) & 0xff);
    await Promise.all([client.close(), server.close()]);
  });

  test('a peer that does not read stops our writes: write() waits', async () => {
    const psk = { identity: 'bp', key: key() };
    const [a, b] = duplexPair();
    const client = connectTls(a, { psk });
    const server = acceptTls(b, { psk });
    await Promise.all([client.opened, server.opened]);
    const writer = client.writable.getWriter();
    let accepted = 0;
    const total = 8 << 20;
    const writing = (async () => {
      for (let i = 0; i < total; i += 65536) {
        await writer.write(new Uint8Array(65536));
        accepted += 65536;
      }
    })();
    await sleep(300);
    assert.ok(accepted < 1 << 20, `${accepted} bytes were accepted with nobody reading`);
    const received = await readAll(server.readable, { limit: total });
    await writing;
    assert.equal(received.length, total);
    await Promise.all([client.close(), server.close()]);
  });

  test('over a `ws` WebSocket, a reader that does not read pauses the socket instead of buffering (16 MiB flood)', async () => {
    const psk = key();
    const total = 16 << 20;
    const warnings = [];
    const onWarning = (warning) => warnings.push(warning);
    process.on('warning', onWarning);
    const flood = await nodeTlsFloodServer({ key: psk, bytes: total });
    const bridge = await startBridge({ allow: [`127.0.0.1:${flood.port}`] });
    const socket = connectTls(`${bridge.url}/127.0.0.1:${flood.port}`, { psk: { identity: 'flood', key: psk } });
    await socket.opened;
    await sleep(1000); // nobody reads; without a pause the 8 MiB receive cap would be hit (ERR_BUFFER_FULL)
    const received = await readAll(socket.readable);
    assert.equal(received.length, total);
    assert.ok(received.every((b) => b === 0x5a));
    await sleep(50); // warnings are emitted on the next tick
    process.off('warning', onWarning);
    // Every pause of the flooding server must not leave a listener behind (it did: 11 on 'close').
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
    assert.ok(flood.maxListeners() <= 3, `at most ${flood.maxListeners()} 'close' listeners on the server's socket`);
    await bridge.close();
    await flood.stop();
  });
});

describe('closing', () => {
  test("close() sends close_notify; the peer's close_notify ends our readable without error", async () => {
    const psk = key();
    let serverSawEnd;
    const server = await nodeTlsServer({ key: psk }, (socket) => {
      serverSawEnd = once(socket, 'end');
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    const tls = connectTls(Duplex.toWeb(connect(server.port, '127.0.0.1')), { psk: { identity: 'c', key: psk } });
    await tls.opened;
    const writer = tls.writable.getWriter();
    await writer.write(text('ping'));
    const reader = tls.readable.getReader();
    assert.equal(str((await reader.read()).value), 'ping');
    reader.releaseLock();
    writer.releaseLock();
    await tls.close();
    await serverSawEnd; // the server read our close_notify as a clean end
    await tls.closed;
    await server.stop();
  });

  test('the peer closing with close_notify ends the readable cleanly (done), and the socket closes too', async () => {
    const psk = { identity: 'c', key: key() };
    const [a, b] = duplexPair();
    const client = connectTls(a, { psk });
    const server = acceptTls(b, { psk });
    await Promise.all([client.opened, server.opened]);
    const writer = server.writable.getWriter();
    await writer.write(text('bye'));
    writer.releaseLock();
    const closing = server.close();
    assert.equal(str(await readAll(client.readable)), 'bye');
    await client.closed; // not half-open by default: it answered with its own close_notify
    await closing;
    await server.closed;
  });

  test("with allowHalfOpen, the writable stays open after the peer's close_notify", async () => {
    const psk = { identity: 'c', key: key() };
    const [a, b] = duplexPair();
    const client = connectTls(a, { psk, allowHalfOpen: true });
    const server = acceptTls(b, { psk, allowHalfOpen: true });
    await Promise.all([client.opened, server.opened]);
    await server.writable.close(); // close_notify from the server; its readable stays open
    assert.equal((await readAll(client.readable)).length, 0);
    const writer = client.writable.getWriter();
    await writer.write(text('after your close_notify'));
    await writer.close();
    assert.equal(str(await readAll(server.readable)), 'after your close_notify');
    await Promise.all([client.closed, server.closed]);
  });

  test('a stream cut without close_notify is ERR_TRUNCATED on the readable and on closed, not an end of file', async () => {
    const psk = key();
    const server = await nodeTlsServer({ key: psk }, (socket) => {
      socket.write('partial');
      setTimeout(() => socket.destroy(), 50); // no close_notify
    });
    const tls = connectTls(Duplex.toWeb(connect(server.port, '127.0.0.1')), { psk: { identity: 'c', key: psk } });
    await tls.opened;
    const reader = tls.readable.getReader();
    assert.equal(str((await reader.read()).value), 'partial');
    await assert.rejects(reader.read(), { code: 'ERR_TRUNCATED' });
    await assert.rejects(tls.closed, { code: 'ERR_TRUNCATED' });
    await server.stop();
  });

  test('through the bridge, a TCP server that vanishes is a typed error too', async () => {
    const psk = key();
    const server = await nodeTlsServer({ key: psk }, (socket) => setTimeout(() => socket.destroy(), 50));
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
    const tls = connectTls(`${bridge.url}/127.0.0.1:${server.port}`, { psk: { identity: 'c', key: psk } });
    await tls.opened;
    const error = await readAll(tls.readable).then(
      () => null,
      (e) => e,
    );
    assert.ok(error instanceof TlsError);
    assert.ok(['ERR_TRUNCATED', 'ERR_BRIDGE_UPSTREAM'].includes(error.code), error.code);
    await bridge.close();
    await server.stop();
  });
});

describe('errors on opened, the streams and closed', () => {
  test('WebSocket close codes from the bridge: refused origin, busy, unreachable server', async () => {
    const psk = key();
    const echo = await nodeTlsEchoServer({ identity: 'c', key: psk });
    const target = `127.0.0.1:${echo.port}`;
    const closedPort = await new Promise((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
    const strict = await startBridge({ allow: [target, `127.0.0.1:${closedPort}`], origins: ['https://app.example'], maxConnections: 1 });
    const open = await startBridge({ allow: [target, `127.0.0.1:${closedPort}`], maxConnections: 1 });
    const options = { psk: { identity: 'c', key: psk } };

    const refused = connectTls(`${strict.url}/${target}`, options); // no Origin header from Node: not allowed
    await assert.rejects(refused.opened, (e) => e.code === 'ERR_BRIDGE_REFUSED' && e.closeCode === 1008 && /origin/.test(e.message));
    await assert.rejects(refused.closed, { code: 'ERR_BRIDGE_REFUSED' });

    const unreachable = connectTls(`${open.url}/127.0.0.1:${closedPort}`, options);
    await assert.rejects(unreachable.opened, (e) => e.code === 'ERR_BRIDGE_UPSTREAM' && /ECONNREFUSED/.test(e.message));

    const first = connectTls(`${open.url}/${target}`, options);
    await first.opened;
    const second = connectTls(`${open.url}/${target}`, options);
    await assert.rejects(second.opened, { code: 'ERR_BRIDGE_BUSY' });
    await first.close();

    const nothing = connectTls('ws://127.0.0.1:1/', options);
    await assert.rejects(nothing.opened, { code: 'ERR_TRANSPORT' });
    await Promise.all([strict.close(), open.close(), echo.stop()]);
  });

  test('a TLS alert rejects opened and closed with the same typed error, and the streams error too', async () => {
    const server = await opensslServer(['-nocert', '-tls1_3', ...pskArgs('c', key()), '-rev']);
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
    const tls = connectTls(`${bridge.url}/127.0.0.1:${server.port}`, { psk: { identity: 'c', key: key() } });
    const error = await tls.opened.then(
      () => null,
      (e) => e,
    );
    assert.equal(error?.code, 'ERR_PSK_WRONG_KEY');
    assert.equal(error.alert?.direction, 'received');
    assert.equal(
      await tls.closed.then(
        () => null,
        (e) => e,
      ),
      error,
    );
    await assert.rejects(tls.writable.getWriter().write(text('x')), { code: 'ERR_PSK_WRONG_KEY' });
    await assert.rejects(tls.readable.getReader().read(), { code: 'ERR_PSK_WRONG_KEY' });
    await bridge.close();
    await server.stop();
  });

  test('close() while connecting stops at once: opened rejects with ERR_CLOSED, closed resolves', async () => {
    const silent = createServer((socket) => socket.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const tls = connectTls(Duplex.toWeb(connect(silent.address().port, '127.0.0.1')), { psk: { identity: 'c', key: key() } });
    const started = Date.now();
    await tls.close();
    await assert.rejects(tls.opened, { code: 'ERR_CLOSED' });
    await tls.closed;
    assert.ok(Date.now() - started < 5000);
    silent.close();
  });

  test('a server that never answers: ERR_TIMEOUT after handshakeTimeoutMs', async () => {
    const silent = createServer((socket) => socket.on('error', () => {}));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const tls = connectTls(Duplex.toWeb(connect(silent.address().port, '127.0.0.1')), { psk: { identity: 'c', key: key() }, handshakeTimeoutMs: 300 });
    await assert.rejects(tls.opened, { code: 'ERR_TIMEOUT' });
    silent.close();
  });

  test('errors keep their cause: an abort reason, a refused WebSocket, a stream that failed', async () => {
    // writable.abort(reason): the socket fails with ERR_CLOSED, and reason is its cause.
    const [a, b] = duplexPair();
    const psk = { identity: 'c', key: key() };
    const client = connectTls(a, { psk });
    const server = acceptTls(b, { psk });
    await Promise.all([client.opened, server.opened]);
    const reason = new Error('the application gave up');
    await client.writable.abort(reason);
    const aborted = await client.closed.then(
      () => null,
      (e) => e,
    );
    assert.equal(aborted?.code, 'ERR_CLOSED');
    assert.equal(aborted.cause, reason);
    await assert.rejects(server.closed, { code: 'ERR_TRUNCATED' }); // the peer of an aborted socket sees no close_notify

    // A WebSocket that cannot connect: ERR_TRANSPORT, with what the WebSocket said as cause.
    const nothing = await connectTls('ws://127.0.0.1:1/', { psk }).opened.then(
      () => null,
      (e) => e,
    );
    assert.equal(nothing?.code, 'ERR_TRANSPORT');
    assert.match(String(nothing.cause?.message ?? nothing.cause), /ECONNREFUSED/);

    // A byte stream that fails mid-handshake: the stream's error is the cause of the TLS view.
    const broken = new Error('the stream broke');
    const failing = { readable: new ReadableStream({ pull: (c) => c.error(broken) }), writable: new WritableStream() };
    const ended = await connectTls(failing, { psk }).opened.then(
      () => null,
      (e) => e,
    );
    assert.equal(ended?.code, 'ERR_RESET_IN_HANDSHAKE');
    assert.equal(ended.cause?.code, 'ERR_TRANSPORT');
    assert.equal(ended.cause.cause, broken);
  });

  test('bad arguments are typed errors', async () => {
    await assert.rejects(connectTls('http://127.0.0.1/', { psk: { identity: 'c', key: key() } }).opened, { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(connectTls({}, {}).opened, { code: 'ERR_INVALID_ARGUMENT' });
    const [a] = duplexPair();
    await assert.rejects(connectTls(a, { psk: { identity: 'c', key: new Uint8Array(49) } }).opened, { code: 'ERR_PSK_KEY_TOO_LONG' });
    await assert.rejects(connectTls(duplexPair()[0], { psk: { identity: '', key: key() } }).opened, { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('early data and targets', () => {
  test('early data the server rejects is sent again after the handshake: nothing is lost', async () => {
    const psk = { identity: 'ed', key: key() };
    const [a, b] = duplexPair();
    const server = acceptTls(b, { psk }); // no maxEarlyData: early data is rejected
    const client = connectTls(a, { psk, earlyData: text('0-RTT request\n') });
    const [info] = await Promise.all([client.opened, server.opened]);
    assert.equal(info.earlyDataAccepted, false);
    assert.equal(str(await readAll(server.readable, { limit: 14 })), '0-RTT request\n');
    await Promise.all([client.close(), server.close()]);
  });

  test('early data the server accepts arrives first on its readable', async () => {
    const psk = { identity: 'ed', key: key() };
    const [a, b] = duplexPair();
    const server = acceptTls(b, { psk, maxEarlyData: 1024 });
    const client = connectTls(a, { psk, earlyData: text('0-RTT ') });
    const [info] = await Promise.all([client.opened, server.opened]);
    assert.equal(info.earlyDataAccepted, true);
    const writer = client.writable.getWriter();
    await writer.write(text('then 1-RTT'));
    assert.equal(str(await readAll(server.readable, { limit: 16 })), '0-RTT then 1-RTT');
    writer.releaseLock();
    await Promise.all([client.close(), server.close()]);
  });

  test('TCP in Node: a byte duplex (Duplex.toWeb) to openssl s_server, and acceptTls for openssl s_client', async () => {
    const psk = key();
    const server = await opensslServer(['-nocert', '-tls1_2', ...pskArgs('tcp', psk), '-cipher', 'PSK-AES128-GCM-SHA256', '-rev']);
    const result = await runClient(
      { connectTls: (url, options) => connectTls(Duplex.toWeb(connect(server.port, '127.0.0.1')), options) },
      {
        url: 'tcp',
        psk: { identity: 'tcp', keyHex: Buffer.from(psk).toString('hex') },
        options: { maxVersion: 'TLSv1.2' },
        payload: { kind: 'lines', bytes: 3000, seed: 3 },
        answer: 'reversed-lines',
      },
    );
    assert.equal(result.mismatchAt, -1, JSON.stringify(result));
    await server.stop();

    const listener = createServer((socket) => {
      const tls = acceptTls(Duplex.toWeb(socket), { psk: { identity: 'tcp', key: psk } });
      tls.readable.pipeTo(tls.writable).catch(() => {});
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const client = opensslClient(listener.address().port, ['-quiet', '-tls1_3', ...pskArgs('tcp', psk)]);
    client.write('through acceptTls\n');
    await client.waitFor('through acceptTls\n');
    await client.stop();
    listener.close();
  });
});

test('Node to Node through a relay: acceptTls on one side, connectTls on the other; the relay sees no plaintext', async () => {
  const relay = await startRelay();
  const psk = { identity: 'relay', keyHex: '3c'.repeat(32) };
  const url = `${relay.url}/room`;
  const lib = { acceptTls, connectTls };
  const serving = runEchoServer(lib, { socket: new WebSocket(url), psk });
  const marker = 'NODE-PLAINTEXT-MARKER';
  const result = await runClient(lib, { url, psk, payload: { kind: 'text', text: `${marker}\n`.repeat(50) } });
  assert.equal(result.mismatchAt, -1, JSON.stringify(result));
  assert.equal(await serving, result.sent);
  const seen = relay.forwarded();
  assert.ok(seen.length > result.sent);
  assert.equal(seen.indexOf(marker), -1);
  await relay.close();
});

test('a WebSocket handed to acceptTls is listened to at once: bytes arriving while OpenSSL still loads are kept', () => {
  // In a fresh process (OpenSSL not loaded yet), the client's ClientHello waits in the relay
  // and reaches the server's WebSocket the moment it opens, before the module has loaded.
  const code = `
    import { WebSocket } from 'ws';
    import { acceptTls, connectTls } from './lib/index.js';
    import { startRelay } from './test/helpers/relay.js';
    const relay = await startRelay();
    const psk = { identity: 'early', key: new Uint8Array(32).fill(1) };
    const client = connectTls(relay.url + '/r', { psk });
    while (relay.forwarded().length === 0) await new Promise((r) => setTimeout(r, 5));
    const server = acceptTls(new WebSocket(relay.url + '/r'), { psk, handshakeTimeoutMs: 5000 });
    const [info] = await Promise.all([client.opened, server.opened]);
    console.log(info.protocol);
    await Promise.all([client.close(), server.close()]);
    await relay.close();
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url), encoding: 'utf8', timeout: 20000 });
  assert.equal(result.stdout.trim(), 'TLSv1.3', result.stderr);
});

test('WebSocketServer connections can be served with acceptTls directly', async () => {
  const psk = { identity: 'wss', key: key() };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    const tls = acceptTls(ws, { psk });
    tls.readable.pipeTo(tls.writable).catch(() => {});
  });
  const result = await runClient(
    { connectTls },
    {
      url: `ws://127.0.0.1:${wss.address().port}`,
      psk: { identity: 'wss', keyHex: Buffer.from(psk.key).toString('hex') },
      payload: { kind: 'binary', bytes: 100000, seed: 5 },
    },
  );
  assert.equal(result.mismatchAt, -1, JSON.stringify(result));
  for (const client of wss.clients) client.terminate();
  wss.close();
});
