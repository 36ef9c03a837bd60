// The bridge under abuse: allow-list bypass attempts, slow and silent clients, a client that
// never reads while the server floods, and many tunnels at once. Each is refused or bounded,
// the bridge's queues stay small, and a well-behaved client is served throughout.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { bridgeLoad } from '../bench/bridge-load.mjs';
import { startBridge } from '../lib/node/bridge.js';
import { waitUntil } from './helpers/peers.js';

const closers = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

/** A TCP server on 127.0.0.1 counting its connections; echoes, or floods with `flood` bytes. */
async function tcpServer({ flood = 0 } = {}) {
  const state = { connections: 0, written: 0 };
  const server = createServer(async (socket) => {
    state.connections++;
    socket.on('error', () => {});
    if (!flood) return socket.pipe(socket);
    const chunk = Buffer.alloc(65536, 7);
    while (state.written < flood && !socket.destroyed) {
      state.written += chunk.length;
      if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => {}); // once() rejects on 'error'
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { port: server.address().port, state };
}

function closeCode(url, options) {
  const ws = new WebSocket(url, options);
  ws.on('error', () => {});
  return new Promise((resolve) => ws.on('close', (code) => resolve(code)));
}

/** A well-behaved client's echo through the bridge. */
async function echoes(url) {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  ws.send(Buffer.from('still served'));
  const [data] = await once(ws, 'message');
  ws.close(1000);
  return Buffer.from(data).toString() === 'still served';
}

describe('the allow-list cannot be talked around', () => {
  test('names, other spellings of the same address, paths and encodings are refused (1008) and reach nothing', async () => {
    const server = await tcpServer();
    const p = server.port;
    const bridge = await startBridge({ allow: [`127.0.0.1:${p}`, 'localhost.example.invalid:9'] });
    closers.push(() => bridge.close());
    const attempts = [
      `localhost:${p}`, // a name that resolves to the allowed address
      `[::1]:${p}`, `[0:0:0:0:0:0:0:1]:${p}`, `[::ffff:127.0.0.1]:${p}`, `[::ffff:7f00:1]:${p}`, // IPv6 forms
      `2130706433:${p}`, `0x7f000001:${p}`, `0177.0.0.1:${p}`, `127.1:${p}`, `127.0.0.1.:${p}`, // other IPv4 spellings
      `127.0.0.1:${p}/../127.0.0.1:22`, `127.0.0.1:${p + 1}`, `127.0.0.1:0${p}`,
      `http:%2F%2F127.0.0.1:${p}`, `127.0.0.1:${p}%0d%0aX:1`, `user@127.0.0.1:${p}`, `127.0.0.1:${p}?target=127.0.0.1:22`,
    ];
    for (const target of attempts) {
      assert.equal(await closeCode(`${bridge.url}/${target}`), 1008, target);
    }
    assert.equal(await closeCode(`${bridge.url}/?target=localhost:${p}`), 1008);
    assert.equal(server.state.connections, 0, 'no attempt reached the TCP server');
    assert.equal(await echoes(`${bridge.url}/127.0.0.1:${p}`), true, 'the allowed target itself works');
    assert.equal(await echoes(`${bridge.url}/%31%32%37.0.0.1:${p}`), true, 'percent-encoding of the same target is the same target');
  });

  test('a plain HTTP request gets 426 and no redirect; the bridge follows nothing', async () => {
    const server = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
    closers.push(() => bridge.close());
    const response = await fetch(`http://127.0.0.1:${bridge.port}/127.0.0.1:${server.port}`, { redirect: 'manual' });
    assert.equal(response.status, 426);
    assert.equal(response.headers.get('location'), null);
    assert.equal(server.state.connections, 0);
  });
});

describe('slow, silent and greedy clients are bounded', () => {
  test('slowloris: clients dribbling their upgrade are cut after upgradeTimeoutMs, past maxPendingUpgrades at once, while others are served', async () => {
    const server = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], upgradeTimeoutMs: 400, maxPendingUpgrades: 10 });
    closers.push(() => bridge.close());
    const slow = [];
    for (let i = 0; i < 30; i++) {
      const socket = connect(bridge.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      const timer = setInterval(() => socket.writable && socket.write('X'), 50);
      socket.on('close', () => clearInterval(timer));
      slow.push(socket);
    }
    await waitUntil(() => bridge.stats().refused >= 20, 2000);
    assert.ok(bridge.stats().pendingUpgrades <= 10, JSON.stringify(bridge.stats()));
    await waitUntil(() => slow.every((s) => s.destroyed), 3000); // cut once their time is up
    assert.equal(bridge.stats().pendingUpgrades, 0);
    assert.equal(await echoes(bridge.url), true);
  });

  test('a client that never reads while the server floods: the bridge stops reading the server, holding about its high-water mark', async () => {
    const flood = await tcpServer({ flood: 256 << 20 });
    const echo = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${flood.port}`, `127.0.0.1:${echo.port}`], highWaterMark: 1 << 20 });
    closers.push(() => bridge.close());
    // A WebSocket client by hand, which completes the upgrade and then never reads its socket.
    const greedy = connect(bridge.port, '127.0.0.1');
    greedy.on('error', () => {});
    greedy.write(`GET /127.0.0.1:${flood.port} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await once(greedy, 'data');
    greedy.pause();
    await waitUntil(() => flood.state.written > 0, 2000);
    await new Promise((r) => setTimeout(r, 1500));
    const written = flood.state.written;
    const stats = bridge.stats();
    assert.ok(stats.queuedToClients <= (1 << 20) + 65536 * 2, `queued to the client: ${stats.queuedToClients}`);
    assert.ok(written < 64 << 20, `the server got only ${written} bytes away (kernel buffers, not the bridge)`);
    console.log(`# flood held back: ${written} bytes written by the server, ${stats.queuedToClients} queued in the bridge`);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(flood.state.written - written < 1 << 20, 'and it stays stopped');
    assert.equal(await echoes(`${bridge.url}/127.0.0.1:${echo.port}`), true, 'another client is served meanwhile');
    greedy.destroy();
    await waitUntil(() => bridge.stats().tunnels === 0, 3000);
  });

  test('load: 20 tunnels at once, 1 MiB each way each, every byte back', async () => {
    const result = await bridgeLoad({ tunnels: 20, mibEach: 1 });
    assert.equal(result.allBytesArrived, true);
    assert.equal(result.bridgeTotals.bytesUp, 20 << 20);
    assert.equal(result.bridgeTotals.bytesDown, 20 << 20);
  });
});
