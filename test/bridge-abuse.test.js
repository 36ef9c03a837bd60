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
import { drainedOrClosed, waitUntil } from './helpers/peers.js';

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
      if (!socket.write(chunk)) await drainedOrClosed(socket);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { port: server.address().port, state };
}

/** A socket to the bridge from `localAddress` that sends `request` (nothing if omitted); never reads what it gets. */
function rawSocket(port, { localAddress = '127.0.0.1', request } = {}) {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  socket.resume(); // read and drop whatever comes, so that the bridge closing it is seen
  if (request) socket.write(request);
  return socket;
}

const upgradeRequest = (path, headers = '') =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`;

/**
 * An attacker holding `perAddress` silent sockets from each of `addresses`, opening a new one
 * whenever the bridge closes one (as fast as the event loop lets it). stop() ends it.
 */
function silentAttacker(port, addresses, perAddress) {
  const open = new Set();
  let stopped = false;
  let opened = 0;
  const hold = (localAddress) => {
    if (stopped) return;
    const socket = rawSocket(port, { localAddress });
    opened++;
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      setImmediate(() => hold(localAddress));
    });
  };
  for (const address of addresses) for (let i = 0; i < perAddress; i++) hold(address);
  return {
    held: () => [...open].filter((s) => !s.connecting && !s.destroyed).length,
    opened: () => opened,
    stop() {
      stopped = true;
      for (const socket of open) socket.destroy();
    },
  };
}

function closeCode(url, options) {
  const ws = new WebSocket(url, options);
  ws.on('error', () => {});
  return new Promise((resolve) => ws.on('close', (code) => resolve(code)));
}

/** A well-behaved client's echo through the bridge. */
async function echoes(url, options) {
  const ws = new WebSocket(url, options);
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
      `[::1]:${p}`,
      `[0:0:0:0:0:0:0:1]:${p}`,
      `[::ffff:127.0.0.1]:${p}`,
      `[::ffff:7f00:1]:${p}`, // IPv6 forms
      `2130706433:${p}`,
      `0x7f000001:${p}`,
      `0177.0.0.1:${p}`,
      `127.1:${p}`,
      `127.0.0.1.:${p}`, // other IPv4 spellings
      `127.0.0.1:${p}/../127.0.0.1:22`,
      `127.0.0.1:${p + 1}`,
      `127.0.0.1:0${p}`,
      `http:%2F%2F127.0.0.1:${p}`,
      `127.0.0.1:${p}%0d%0aX:1`,
      `user@127.0.0.1:${p}`,
      `127.0.0.1:${p}?target=127.0.0.1:22`,
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
  test('slowloris: clients dribbling their upgrade are cut after upgradeTimeoutMs, the oldest past maxPendingUpgrades at once, while others are served', async () => {
    const server = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], upgradeTimeoutMs: 400, maxPendingUpgrades: 10, maxPendingPerAddress: 10 });
    closers.push(() => bridge.close());
    const slow = [];
    for (let i = 0; i < 30; i++) {
      const socket = rawSocket(bridge.port, { request: 'GET / HTTP/1.1\r\nHost: x\r\n' });
      const timer = setInterval(() => socket.writable && socket.write('X'), 50);
      socket.on('close', () => clearInterval(timer));
      slow.push(socket);
    }
    await waitUntil(() => bridge.stats().evicted >= 20, 2000);
    assert.ok(bridge.stats().pendingUpgrades <= 10, JSON.stringify(bridge.stats()));
    await waitUntil(() => slow.slice(0, 20).every((s) => s.destroyed), 2000); // the oldest made way for the newest
    await waitUntil(() => slow.every((s) => s.destroyed), 3000); // cut once their time is up
    assert.equal(bridge.stats().pendingUpgrades, 0);
    assert.equal(await echoes(bridge.url), true);
  });

  test('lockout: while silent sockets fill every pending place, fresh clients from other addresses are served', async () => {
    const server = await tcpServer();
    const events = [];
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], onEvent: (e) => events.push(e) });
    closers.push(() => bridge.close());
    // 64 places (maxPendingUpgrades), taken by sockets that never send a byte, from 32
    // addresses, 4 each (the per-address cap is 8), reopened as soon as the bridge closes one.
    const attackers = Array.from({ length: 32 }, (_, i) => `127.0.1.${i + 1}`);
    const attacker = silentAttacker(bridge.port, attackers, 4);
    closers.push(() => attacker.stop());
    await waitUntil(() => bridge.stats().pendingUpgrades >= 64, 5000);
    let served = 0;
    let heldAtWorst = Infinity;
    const clients = 20;
    for (let i = 0; i < clients; i++) {
      heldAtWorst = Math.min(heldAtWorst, bridge.stats().pendingUpgrades);
      if (await echoes(bridge.url, { localAddress: `127.0.0.${2 + (i % 4)}` })) served++;
    }
    attacker.stop();
    assert.equal(served, clients);
    assert.ok(heldAtWorst >= 56, `the attacker held ${heldAtWorst} pending places at the least`);
    assert.ok(bridge.stats().evicted >= clients, JSON.stringify(bridge.stats()));
    assert.ok(events.some((e) => e.type === 'evicted' && attackers.includes(e.address) && e.why === 'oldest pending (maxPendingUpgrades)'));
    console.log(
      `# lockout: ${served} of ${clients} fresh clients served while ${heldAtWorst}+ silent sockets held the ${64} pending places (${attacker.opened()} opened by the attacker)`,
    );
  });

  test('one address gets at most maxPendingPerAddress pending places: its own oldest go first, and others are not touched', async () => {
    const server = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], maxPendingPerAddress: 4, firstByteTimeoutMs: 60000, upgradeTimeoutMs: 60000 });
    closers.push(() => bridge.close());
    const neighbour = [
      rawSocket(bridge.port, { localAddress: '127.0.0.9', request: 'GET / HTTP/1.1\r\n' }),
      rawSocket(bridge.port, { localAddress: '127.0.0.9' }),
    ];
    await waitUntil(() => bridge.stats().pendingUpgrades === 2, 2000);
    const greedy = Array.from({ length: 12 }, () => rawSocket(bridge.port, { localAddress: '127.0.0.8' }));
    await waitUntil(() => greedy.slice(0, 8).every((s) => s.destroyed), 3000);
    assert.equal(bridge.stats().pendingUpgrades, 6);
    assert.equal(bridge.stats().evicted, 8);
    assert.ok(
      greedy.slice(8).every((s) => !s.destroyed),
      'the newest four of the greedy address stay',
    );
    assert.ok(
      neighbour.every((s) => !s.destroyed),
      'the other address keeps its places',
    );
    assert.equal(await echoes(bridge.url, { localAddress: '127.0.0.8' }), true, 'even the greedy address is served: its oldest silent socket makes way');
    for (const s of [...greedy, ...neighbour]) s.destroy();
  });

  test('a socket that sends nothing is cut after firstByteTimeoutMs; one that dribbles its headers lasts until upgradeTimeoutMs', async () => {
    const server = await tcpServer();
    const events = [];
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], firstByteTimeoutMs: 200, upgradeTimeoutMs: 20000, onEvent: (e) => events.push(e) });
    closers.push(() => bridge.close());
    const silent = rawSocket(bridge.port);
    const dribbling = rawSocket(bridge.port, { request: 'GET / HTTP/1.1\r\n' });
    await waitUntil(() => silent.destroyed || silent.readableEnded, 5000);
    assert.equal(dribbling.destroyed, false, 'the socket that sent something is still waited for');
    assert.ok(events.some((e) => e.type === 'evicted' && e.why === 'no byte within firstByteTimeoutMs' && e.address === '127.0.0.1'));
    dribbling.destroy();
  });

  test('a request that arrives while the event loop is stalled past firstByteTimeoutMs is not taken for silence', async () => {
    const server = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], firstByteTimeoutMs: 100 });
    closers.push(() => bridge.close());
    const socket = rawSocket(bridge.port);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    await waitUntil(() => bridge.stats().pendingUpgrades === 1, 2000); // accepted, silent so far
    socket.write(upgradeRequest('/'));
    const until = Date.now() + 300;
    while (Date.now() < until); // a stall: the deadline passes with the request unread in the kernel
    await waitUntil(() => answer.startsWith('HTTP/1.1 101') || socket.destroyed, 3000);
    assert.match(answer, /^HTTP\/1\.1 101/);
    assert.equal(bridge.stats().evicted, 0);
    socket.destroy();
  });

  test('a refused WebSocket that never answers the close is cut after a second, and counted meanwhile', async () => {
    const server = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`], origins: ['http://good.example'] });
    closers.push(() => bridge.close());
    const refused = rawSocket(bridge.port, { request: upgradeRequest('/', 'Origin: http://evil.example\r\n') });
    let closeFrame = false;
    refused.on('data', (d) => (closeFrame ||= d.includes(Buffer.from([0x88]))));
    await waitUntil(() => closeFrame, 3000);
    assert.equal(bridge.stats().pendingUpgrades, 1, 'the refused socket is still counted');
    await waitUntil(() => refused.destroyed || refused.readableEnded, 5000); // ws alone would wait 30 s
    await waitUntil(() => bridge.stats().pendingUpgrades === 0, 2000);
    assert.equal(bridge.stats().refused, 1);
  });

  test('X-Forwarded-For counts only from trusted proxies: the client behind the proxy is the address', async () => {
    const server = await tcpServer();
    for (const trusted of [true, false]) {
      const events = [];
      const bridge = await startBridge({
        allow: [`127.0.0.1:${server.port}`],
        origins: ['http://good.example'],
        maxPendingPerAddress: 2,
        ...(trusted ? { trustedProxies: ['127.0.0.1'] } : {}),
        onEvent: (e) => events.push(e),
      });
      // Through the "proxy" (127.0.0.1): three refused clients from 10.0.0.1 and one good one from 10.0.0.2.
      const refused = [1, 2, 3].map(() =>
        rawSocket(bridge.port, { request: upgradeRequest('/', 'Origin: http://evil.example\r\nX-Forwarded-For: 10.0.0.1\r\n') }),
      );
      await waitUntil(() => events.filter((e) => e.type === 'refused').length === 3, 3000);
      assert.equal(await echoes(bridge.url, { origin: 'http://good.example', headers: { 'X-Forwarded-For': '192.0.2.7, 10.0.0.2' } }), true);
      const refusedFrom = events.filter((e) => e.type === 'refused').map((e) => e.address);
      const openedFrom = events.find((e) => e.type === 'open').address;
      if (trusted) {
        assert.deepEqual(refusedFrom, ['10.0.0.1', '10.0.0.1', '10.0.0.1']);
        assert.equal(openedFrom, '10.0.0.2', 'the rightmost address the trusted proxy did not add itself');
        assert.ok(
          events.some((e) => e.type === 'evicted' && e.address === '10.0.0.1'),
          'the third refusal from 10.0.0.1 evicted its first',
        );
      } else {
        assert.deepEqual(refusedFrom, ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
        assert.equal(openedFrom, '127.0.0.1', 'X-Forwarded-For is ignored from an untrusted peer');
      }
      for (const s of refused) s.destroy();
      await bridge.close();
    }
  });

  test('a client that never reads while the server floods: the bridge stops reading the server, holding about its high-water mark', async () => {
    const flood = await tcpServer({ flood: 256 << 20 });
    const echo = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${flood.port}`, `127.0.0.1:${echo.port}`], highWaterMark: 1 << 20 });
    closers.push(() => bridge.close());
    // A WebSocket client by hand, which completes the upgrade and then never reads its socket.
    const greedy = connect(bridge.port, '127.0.0.1');
    greedy.on('error', () => {});
    greedy.write(
      `GET /127.0.0.1:${flood.port} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
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
