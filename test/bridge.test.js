// The bridge: only allow-listed targets, Origin checks, limits, websockify-compatible framing,
// close codes, both sides closed together; and its command line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { startBridge } from '../lib/node/bridge.js';
import { waitUntil } from './helpers/peers.js';

const servers = [];
after(() => servers.forEach((s) => s.close()));

/** A raw TCP server on 127.0.0.1 recording what it receives; `onSocket` may act on each connection. */
async function tcpServer(onSocket = () => {}) {
  const received = [];
  const sockets = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { port: server.address().port, received: () => Buffer.concat(received), sockets };
}

/** Opens a ws client; resolves { ws, messages, closed: Promise<{code, reason}> }. */
function client(url, options = {}) {
  const ws = new WebSocket(url, options.protocols, options);
  const messages = [];
  ws.on('message', (data) => messages.push(Buffer.from(data)));
  ws.on('error', () => {});
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise((resolve) => ws.once('open', resolve));
  return { ws, messages, closed, opened };
}

describe('targets and refusals', () => {
  test('the path picks an allowed target; anything else is refused with 1008', async () => {
    const a = await tcpServer();
    const b = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] });
    for (const [path, server] of [
      [`/127.0.0.1:${a.port}`, a],
      [`/?target=127.0.0.1:${b.port}`, b],
    ]) {
      const c = client(`${bridge.url}${path}`);
      await c.opened;
      c.ws.send(Buffer.from(`to ${path}`));
      await waitUntil(() => server.received().toString().includes(`to ${path}`), 2000);
      c.ws.close(1000);
    }
    for (const path of ['/', '/127.0.0.1:9', `/localhost:${a.port}`, `/[::1]:${a.port}`, '/example.com:443', '/not a target']) {
      const c = client(`${bridge.url}${path}`);
      const { code } = await c.closed;
      assert.equal(code, 1008, path);
    }
    await bridge.close();
  });

  test('with a single target, any path reaches it (as websockify does)', async () => {
    const a = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`] });
    const c = client(`${bridge.url}/websockify`);
    await c.opened;
    c.ws.send(Buffer.from('hello'));
    await waitUntil(() => a.received().toString() === 'hello', 2000);
    c.ws.close(1000);
    await bridge.close();
  });

  test('Origin allow-list: a listed origin passes, others and none are refused with 1008', async () => {
    const a = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`], origins: ['http://good.example'] });
    const good = client(bridge.url, { origin: 'http://good.example' });
    await good.opened;
    for (const origin of ['http://evil.example', undefined]) {
      const c = client(bridge.url, origin ? { origin } : {});
      const { code, reason } = await c.closed;
      assert.equal(code, 1008);
      assert.match(reason, /origin/);
    }
    good.ws.close(1000);
    await bridge.close();
  });

  test('at the connection limit, new clients get 1013 and the open ones go on', async () => {
    const a = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`], maxConnections: 2 });
    const open = [client(bridge.url), client(bridge.url)];
    await Promise.all(open.map((c) => c.opened));
    const third = client(bridge.url);
    assert.equal((await third.closed).code, 1013);
    open[0].ws.send(Buffer.from('still served'));
    await waitUntil(() => a.received().toString().includes('still served'), 2000);
    open[0].ws.close(1000);
    await open[0].closed;
    await new Promise((r) => setTimeout(r, 50));
    const fourth = client(bridge.url);
    await fourth.opened; // a place was freed
    for (const c of [open[1], fourth]) c.ws.close(1000);
    await bridge.close();
  });
});

describe('frames and closes', () => {
  test('bytes go through unchanged both ways, in binary frames; the "binary" subprotocol is accepted', async () => {
    const a = await tcpServer((socket) => socket.on('data', (d) => socket.write(d)));
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`] });
    const c = client(bridge.url, { protocols: ['binary'] });
    await c.opened;
    assert.equal(c.ws.protocol, 'binary');
    const payload = Buffer.from(Array.from({ length: 70000 }, (_, i) => i & 0xff));
    c.ws.send(payload);
    await waitUntil(() => Buffer.concat(c.messages).length >= payload.length, 3000);
    assert.deepEqual(Buffer.concat(c.messages), payload);
    c.ws.close(1000);
    await bridge.close();
  });

  test('a text frame closes with 1003, an oversized frame with 1009; the TCP side is closed too', async () => {
    for (const [send, code] of [
      [(ws) => ws.send('text'), 1003],
      [(ws) => ws.send(Buffer.alloc(2048)), 1009],
    ]) {
      let tcpClosed;
      const a = await tcpServer((socket) => (tcpClosed = once(socket, 'close')));
      const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`], maxMessageBytes: 1024 });
      const c = client(bridge.url);
      await c.opened;
      while (!tcpClosed) await new Promise((r) => setTimeout(r, 5));
      send(c.ws);
      assert.equal((await c.closed).code, code);
      await tcpClosed;
      await bridge.close();
    }
  });

  test('the TCP server closing closes the WebSocket (1000) after the last bytes', async () => {
    const a = await tcpServer((socket) => socket.end('last words'));
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`] });
    const c = client(bridge.url);
    const { code } = await c.closed;
    assert.equal(code, 1000);
    assert.equal(Buffer.concat(c.messages).toString(), 'last words');
    await bridge.close();
  });

  test('the WebSocket closing closes the TCP connection', async () => {
    let tcpEnded;
    const a = await tcpServer((socket) => (tcpEnded = once(socket, 'end')));
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`] });
    const c = client(bridge.url);
    await c.opened;
    while (!tcpEnded) await new Promise((r) => setTimeout(r, 5));
    c.ws.close(1000);
    await tcpEnded;
    await bridge.close();
  });

  test('an idle tunnel is closed with 1001 after idleTimeoutMs', async () => {
    const a = await tcpServer();
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`], idleTimeoutMs: 200 });
    const c = client(bridge.url);
    const started = Date.now();
    const { code, reason } = await c.closed;
    assert.equal(code, 1001);
    assert.match(reason, /idle/);
    assert.ok(Date.now() - started >= 150);
    await bridge.close();
  });

  test('an unreachable TCP server closes with 1014 and says why', async () => {
    const a = await tcpServer();
    servers.pop().close();
    await new Promise((r) => setTimeout(r, 20));
    const bridge = await startBridge({ allow: [`127.0.0.1:${a.port}`] });
    const { code, reason } = await client(bridge.url).closed;
    assert.equal(code, 1014);
    assert.match(reason, /ECONNREFUSED/);
    await bridge.close();
  });
});

describe('command line', () => {
  const cli = new URL('../bin/openssl-psk-wasm.js', import.meta.url).pathname;

  function run(args) {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return { child, output: () => out, exit: new Promise((resolve) => child.on('exit', resolve)) };
  }

  test('bridge --listen --allow serves, and stops on SIGTERM', async () => {
    const a = await tcpServer((socket) => socket.on('data', (d) => socket.write(d)));
    const p = run(['bridge', '--listen', '127.0.0.1:0', '--allow', `127.0.0.1:${a.port}`, '--quiet']);
    await waitUntil(() => /listening on ws:/.test(p.output()), 5000);
    const url = /listening on (ws:\/\/\S+),/.exec(p.output())[1];
    assert.match(p.output(), /any origin: add --origin to restrict/);
    const c = client(url);
    await c.opened;
    c.ws.send(Buffer.from('via the CLI'));
    await waitUntil(() => Buffer.concat(c.messages).toString().includes('via the CLI'), 2000);
    c.ws.close(1000);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  test('--trust-proxy, --first-byte-timeout and --max-pending-per-address reach the bridge', async () => {
    const a = await tcpServer();
    const p = run([
      'bridge',
      '--listen',
      '127.0.0.1:0',
      '--allow',
      `127.0.0.1:${a.port}`,
      '--allow',
      '127.0.0.1:9',
      '--trust-proxy',
      '127.0.0.1',
      '--first-byte-timeout',
      '1',
      '--max-pending-per-address',
      '1',
    ]);
    await waitUntil(() => /listening on ws:/.test(p.output()), 5000);
    const url = /listening on (ws:\/\/\S+),/.exec(p.output())[1];
    const port = Number(/:(\d+),/.exec(p.output())[1]);
    // A request through the trusted "proxy" counts for the client it names.
    const c = client(`${url}/127.0.0.1:${a.port}`, { headers: { 'X-Forwarded-For': '198.51.100.4' } });
    await c.opened;
    await waitUntil(() => /open -> 127\.0\.0\.1:\d+ for 198\.51\.100\.4/.test(p.output()), 3000);
    // Two silent sockets from an untrusted address: the cap keeps one, the deadline cuts it.
    const silent = [0, 1].map(() => connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' }).on('error', () => {}));
    await waitUntil(() => /cut a socket from 127\.0\.0\.3: oldest of its address/.test(p.output()), 3000);
    await waitUntil(() => /cut a socket from 127\.0\.0\.3: no byte within firstByteTimeoutMs/.test(p.output()), 5000);
    for (const s of silent) s.destroy();
    c.ws.close(1000);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
    const bad = run(['bridge', '--listen', '127.0.0.1:0', '--allow', '127.0.0.1:1', '--trust-proxy', 'proxy.example']);
    assert.equal(await bad.exit, 1);
    assert.match(bad.output(), /a trusted proxy must be an IP address/);
  });

  test('no --allow, unknown flags and bad targets are refused with the usage', async () => {
    for (const args of [['bridge', '--listen', '127.0.0.1:0'], ['bridge', '--allow', '127.0.0.1:1', '--proxy-anything'], ['frobnicate']]) {
      const p = run(args);
      assert.equal(await p.exit, 2, args.join(' '));
      assert.match(p.output(), args[0] === 'bridge' ? /usage: openssl-psk-wasm bridge/ : /usage: openssl-psk-wasm s_client|s_server|bridge/);
    }
    const bad = run(['bridge', '--listen', '127.0.0.1:0', '--allow', 'no-port']);
    assert.equal(await bad.exit, 1);
    assert.match(bad.output(), /--allow must be HOST:PORT/);
  });
});
