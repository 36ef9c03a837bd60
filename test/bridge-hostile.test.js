// One unauthenticated request must not kill the bridge: malformed percent escapes, overlong
// Origins and targets, frames sent to a refused WebSocket. Each is refused with its documented
// close code and a fixed reason that fits a close frame (123 UTF-8 bytes); what the request
// said goes to the bridge's event log only. Then a fuzz run of the upgrade path (the long one
// is `npm run fuzz`), against the embedded bridge and the command line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { after, beforeEach, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { fuzzBridge } from '../fuzz/bridge-fuzz.mjs';
import { startBridge } from '../lib/node/bridge.js';
import { waitUntil } from './helpers/peers.js';

const closers = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

// Any exception escaping a bridge handler in this process is a failure of the test it happens in.
const escaped = [];
const onEscape = (error) => escaped.push(error);
process.on('uncaughtException', onEscape);
after(() => process.off('uncaughtException', onEscape));
beforeEach(() => (escaped.length = 0));

/** A TCP echo server on 127.0.0.1 counting its connections. */
async function echoServer() {
  const state = { connections: 0 };
  const server = createServer((socket) => {
    state.connections++;
    socket.on('error', () => {}).pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return { target: `127.0.0.1:${server.address().port}`, state };
}

/** Opens a WebSocket and resolves with how it closed: { code, reason, bytes }. */
function closeOf(url, options = {}) {
  const ws = new WebSocket(url, options);
  ws.on('error', () => {});
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), bytes: reason.length })));
}

async function echoes(url, options = {}) {
  const ws = new WebSocket(url, options);
  ws.on('error', () => {});
  await once(ws, 'open');
  ws.send(Buffer.from('still served'));
  const [data] = await once(ws, 'message');
  ws.close(1000);
  return Buffer.from(data).toString() === 'still served';
}

/** A raw upgrade request for `path`, so that anything at all can be put in it. */
function rawUpgrade(port, path, headers = '') {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const request = `GET ${path} HTTP/1.1\r\nHost: bridge\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 7).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`;
  socket.write(Buffer.from(request, 'latin1')); // byte for byte: '\x9b' is the byte 0x9b
  const received = [];
  socket.on('data', (d) => received.push(d));
  return { socket, received: () => Buffer.concat(received) };
}

/** The close code of the first close frame after a 101, or null. */
function closeCodeIn(bytes) {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0 || !bytes.subarray(0, 12).toString().includes('101')) return null;
  const frame = bytes.subarray(end + 4);
  return frame.length >= 4 && (frame[0] & 0x0f) === 8 ? frame.readUInt16BE(2) : null;
}

describe('one request cannot kill the bridge', () => {
  test('malformed percent escapes in the path are refused with 1008 and reach nothing; the bridge serves on', async () => {
    const a = await echoServer();
    const b = await echoServer();
    const events = [];
    const bridge = await startBridge({ allow: [a.target, b.target], onEvent: (e) => events.push(e) });
    closers.push(() => bridge.close());
    for (const path of ['/%', '/%E0%A4%A', '/%zz', '/%C3%28', `/127.0.0.1:${a.target.split(':')[1]}%`, '/%%%']) {
      const raw = rawUpgrade(bridge.port, path);
      await waitUntil(() => closeCodeIn(raw.received()) !== null || raw.socket.destroyed, 3000);
      assert.equal(closeCodeIn(raw.received()), 1008, path);
      raw.socket.destroy();
    }
    assert.equal(a.state.connections + b.state.connections, 0, 'no TCP connection was opened');
    assert.deepEqual(escaped, []);
    assert.equal(await echoes(`${bridge.url}/${a.target}`), true);
    const refusals = events.filter((e) => e.type === 'refused');
    assert.equal(refusals.length, 6);
    assert.ok(
      refusals.every((e) => e.reason === 'target must be HOST:PORT'),
      JSON.stringify(refusals.map((e) => e.reason)),
    );
    assert.ok(
      refusals.some((e) => e.detail.includes('%E0%A4%A')),
      'the path itself is in the event log',
    );
  });

  test('with a single target an undecodable path means that target, as any other path does', async () => {
    const a = await echoServer();
    const bridge = await startBridge({ allow: [a.target] });
    closers.push(() => bridge.close());
    assert.equal(await echoes(`${bridge.url}/%E0%A4%A`), true);
    assert.deepEqual(escaped, []);
  });

  test('an Origin of any length or script is refused with 1008 and a fixed reason; it goes to the event log only', async () => {
    const a = await echoServer();
    const events = [];
    const bridge = await startBridge({ allow: [a.target], origins: ['http://good.example'], onEvent: (e) => events.push(e) });
    closers.push(() => bridge.close());
    const origins = [`http://${'x'.repeat(110)}`, `http://${'y'.repeat(5000)}`, `http://${'é'.repeat(60)}`, 'http://evil.example'];
    for (const origin of origins) {
      const { code, reason, bytes } = await closeOf(bridge.url, { origin });
      assert.equal(code, 1008, origin.slice(0, 40));
      assert.equal(reason, 'origin not allowed');
      assert.ok(bytes <= 123);
    }
    assert.equal(a.state.connections, 0);
    assert.deepEqual(escaped, []);
    const logged = events.filter((e) => e.type === 'refused');
    assert.equal(logged.length, origins.length);
    assert.ok(logged[0].detail.includes('x'.repeat(100)), 'the Origin is in the event log');
    assert.ok(
      logged.every((e) => e.detail.length <= 300),
      'cut to a bounded length there',
    );
    assert.equal(await echoes(bridge.url, { origin: 'http://good.example' }), true);
  });

  test('a target outside the allow-list with a long host is refused with 1008 and a fixed reason, and reaches nothing', async () => {
    const a = await echoServer();
    const b = await echoServer();
    const events = [];
    const bridge = await startBridge({ allow: [a.target, b.target], onEvent: (e) => events.push(e) });
    closers.push(() => bridge.close());
    for (const host of ['h'.repeat(130), 'é'.repeat(100), 'a.'.repeat(2000)]) {
      const { code, reason, bytes } = await closeOf(`${bridge.url}/${host}:443`);
      assert.equal(code, 1008);
      assert.equal(reason, 'target not allowed');
      assert.ok(bytes <= 123);
    }
    assert.equal(a.state.connections + b.state.connections, 0);
    assert.deepEqual(escaped, []);
    assert.ok(events.some((e) => e.type === 'refused' && e.detail.includes('h'.repeat(130))));
  });

  test('frames sent to a refused WebSocket, valid or not, are absorbed', async () => {
    const a = await echoServer();
    const b = await echoServer();
    const bridge = await startBridge({ allow: [a.target, b.target] });
    closers.push(() => bridge.close());
    for (const frame of [
      Buffer.from([0x82, 0xfe, 0x00, 0x01]),
      Buffer.from([0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0x8f, 0x80, 0, 0, 0, 0]),
    ]) {
      const raw = rawUpgrade(bridge.port, '/not-allowed:1');
      raw.socket.write(frame); // right behind the request: it reaches the WebSocket as it is refused
      await waitUntil(() => closeCodeIn(raw.received()) !== null || raw.socket.destroyed, 3000);
      raw.socket.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(escaped, []);
    assert.equal(await echoes(`${bridge.url}/${a.target}`), true);
  });

  test('the command-line bridge survives the same requests, logs them escaped, and serves on', async () => {
    const a = await echoServer();
    const b = await echoServer();
    const cli = new URL('../bin/openssl-psk-wasm.js', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [cli, 'bridge', '--listen', '127.0.0.1:0', '--allow', a.target, '--allow', b.target, '--origin', 'http://good.example'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    closers.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    await waitUntil(() => /listening on ws:/.test(output), 5000);
    const url = /listening on (ws:\/\/\S+),/.exec(output)[1];
    const good = { origin: 'http://good.example' };
    const port = Number(/:(\d+),/.exec(output)[1]);
    const raw = rawUpgrade(port, '/%E0%A4%A', 'Origin: http://good.example\r\n');
    await waitUntil(() => closeCodeIn(raw.received()) !== null, 3000);
    raw.socket.destroy();
    assert.equal((await closeOf(url, { origin: `http://${'x'.repeat(200)}` })).code, 1008);
    assert.equal((await closeOf(`${url}/${'h'.repeat(130)}:443`, good)).code, 1008);
    // obs-text bytes pass Node's header parser: 0x9b is a terminal's CSI, 0x85 a C1 line break
    const tricky = rawUpgrade(port, `/${a.target}`, 'Origin: http://evil\x9b2J\x85#1 open -> 127.0.0.1:22\r\n');
    await waitUntil(() => closeCodeIn(tricky.received()) !== null, 3000);
    tricky.socket.destroy();
    assert.equal(await echoes(`${url}/${a.target}`, good), true);
    assert.equal(child.exitCode, null, 'still running');
    assert.match(output, /refused 1008 \(target must be HOST:PORT\) for 127\.0\.0\.1: "\/%E0%A4%A"/);
    assert.match(output, /refused 1008 \(origin not allowed\) for 127\.0\.0\.1: "http:\/\/x{100}/);
    const logLines = output.split('\n').filter((line) => line.startsWith('bridge: #'));
    assert.ok(logLines.length >= 5, output);
    for (const line of logLines) assert.match(line, /^[\x20-\x7e]*$/, 'log lines are printable ASCII: request bytes cannot drive a terminal or forge a line');
    assert.ok(
      logLines.some((line) => line.includes('"http://evil\\u009b2J\\u0085#1 open')),
      logLines.join('\n'),
    );
    child.kill('SIGTERM');
    assert.equal((await once(child, 'exit'))[0], 0);
  });
});

describe('fuzzing the upgrade path', () => {
  test('600 random requests (paths, headers, Origins, methods, bytes, frames): no crash, and a legitimate tunnel afterwards', async () => {
    const summary = await fuzzBridge({ count: 600, seconds: 60, seed: 0xb41d9e });
    assert.deepEqual(summary.crashes, []);
    assert.deepEqual(summary.servedAfter, { embedded: true, 'command line': true });
    assert.equal(summary.requests, 600);
    const kinds = Object.keys(summary.outcomes);
    for (const expected of [/HTTP 400/, /101 then close 1008/, /101$/])
      assert.ok(
        kinds.some((k) => expected.test(k)),
        `${expected} among ${kinds.join(', ')}`,
      );
    console.log(`# bridge fuzz: ${summary.requests} requests in ${summary.seconds} s, ${summary.crashes.length} crashes; ${JSON.stringify(summary.outcomes)}`);
  });
});
