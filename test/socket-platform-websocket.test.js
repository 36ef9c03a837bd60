// Over the platform's own WebSocket (a browser's; here Node's, --experimental-websocket), whose
// send() copies what it is given, the socket drains OpenSSL into one reused buffer and sends
// every record pending at once as one message (up to 64 KiB). What travels is a byte stream,
// so message boundaries must not matter: bytes of every write size arrive intact and in order,
// several records share a message, none exceeds 64 KiB, and a peer that does not read still
// stops the writer (the same path runs in the three browsers' end-to-end tests).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect, createServer } from 'node:net';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { WebSocketServer } from 'ws';
import { nodeTlsEchoServer, stopPeers } from './helpers/peers.js';

after(stopPeers);
const run = promisify(execFile);
const lib = new URL('../lib/index.js', import.meta.url).href;

/** A WebSocket-to-TCP relay that records the size of every message from the client. */
async function recordingRelay(port) {
  const sizes = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    const tcp = netConnect(port, '127.0.0.1');
    tcp.on('error', () => ws.terminate());
    ws.on('message', (data) => {
      sizes.push(data.length);
      if (!tcp.write(data)) ws.pause();
    });
    tcp.on('drain', () => ws.resume());
    tcp.on('data', (data) => ws.send(data));
    tcp.on('end', () => ws.close(1000));
    ws.on('close', () => tcp.end());
  });
  await once(wss, 'listening');
  return { url: `ws://127.0.0.1:${wss.address().port}`, sizes, close: () => (wss.clients.forEach((c) => c.terminate()), new Promise((r) => wss.close(r))) };
}

/** Runs `body` with the library in a Node process that has the platform WebSocket; its JSON result. */
async function withPlatformWebSocket(body, args) {
  const script = `
    const lib = await import(${JSON.stringify(lib)});
    if (typeof WebSocket !== 'function') throw new Error('no platform WebSocket');
    const args = ${JSON.stringify(args)};
    const key = Uint8Array.from(args.key);
    const result = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify(result), () => process.exit(0)); // a stalled socket keeps the process alive
  `;
  const { stdout } = await run(process.execPath, ['--experimental-websocket', '--no-warnings', '--input-type=module', '-e', script], { timeout: 120_000 });
  return JSON.parse(stdout);
}

test('writes of every size arrive intact and in order; records are coalesced into messages of at most 64 KiB', async () => {
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const echo = await nodeTlsEchoServer({ identity: 'coalesce', key });
  const relay = await recordingRelay(echo.port);
  try {
    const r = await withPlatformWebSocket(
      `
      const sizes = [1, 100, 16383, 16384, 16385, 65536, 200000, 1 << 20];
      const socket = lib.connectTls(args.url, { psk: { identity: 'coalesce', key } });
      await socket.opened;
      const writer = socket.writable.getWriter();
      let seed = 7;
      const expected = [];
      const writing = (async () => {
        for (const size of sizes) {
          const chunk = new Uint8Array(size);
          for (let i = 0; i < size; i++) chunk[i] = seed = (seed * 1103515245 + 12345) & 0xff;
          expected.push(chunk.slice());
          await writer.write(chunk);
          chunk.fill(0); // the caller reusing its buffer changes nothing already written
        }
      })();
      const total = sizes.reduce((a, b) => a + b, 0);
      const got = new Uint8Array(total);
      let filled = 0;
      const reader = socket.readable.getReader();
      while (filled < total) {
        const { value, done } = await reader.read();
        if (done) break;
        got.set(value, filled);
        filled += value.length;
      }
      await writing;
      reader.releaseLock();
      await socket.close();
      const want = new Uint8Array(total);
      let at = 0;
      for (const chunk of expected) (want.set(chunk, at), (at += chunk.length));
      let firstDifference = -1;
      for (let i = 0; i < total; i++) if (got[i] !== want[i]) { firstDifference = i; break; }
      return { total, filled, firstDifference };
      `,
      { url: relay.url, key: [...key] },
    );
    assert.equal(r.filled, r.total);
    assert.equal(r.firstDifference, -1, 'every byte as written');
    assert.ok(Math.max(...relay.sizes) <= 65536, `largest message ${Math.max(...relay.sizes)} bytes`);
    assert.ok(
      relay.sizes.some((n) => n > 2 * 16384),
      `several records share a message: largest ${Math.max(...relay.sizes)} bytes`,
    );
  } finally {
    await relay.close();
    await echo.stop();
  }
});

test('a peer that does not read stops the writer over the platform WebSocket too', async () => {
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  // A TLS server that completes the handshake, then never reads again.
  const sockets = new Set();
  const stalled = await nodeTlsEchoServer({ identity: 'stall', key });
  const tcp = createServer((socket) => {
    sockets.add(socket);
    const upstream = netConnect(stalled.port, '127.0.0.1');
    sockets.add(upstream);
    socket.pipe(upstream);
    let handshook = false;
    upstream.on('data', (data) => {
      socket.write(data);
      if (!handshook) {
        handshook = true;
        setTimeout(() => socket.pause(), 200); // after the handshake's flights, nothing more is read
      }
    });
    socket.on('error', () => {});
    upstream.on('error', () => {});
  });
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const relay = await recordingRelay(tcp.address().port);
  try {
    const r = await withPlatformWebSocket(
      `
      const socket = lib.connectTls(args.url, { psk: { identity: 'stall', key } });
      await socket.opened;
      await new Promise((resolve) => setTimeout(resolve, 400));
      const writer = socket.writable.getWriter();
      let accepted = 0;
      const total = 256 << 20;
      void (async () => {
        for (let i = 0; i < total; i += 65536) {
          await writer.write(new Uint8Array(65536));
          accepted += 65536;
        }
      })().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const result = { accepted, total };
      socket.close().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      return result;
      `,
      { url: relay.url, key: [...key] },
    );
    assert.ok(r.accepted < 64 << 20, `${r.accepted} bytes accepted with nobody reading`);
  } finally {
    for (const s of sockets) s.destroy();
    tcp.close();
    await relay.close();
    await stalled.stop();
  }
});
