// pskFetch against real HTTPS-PSK servers through the bridge: Node's https server with a PSK
// (Content-Length, chunked and streamed bodies both ways, keep-alive, redirects, slow and cut
// bodies), openssl s_server -WWW (HTTP/1.0, close-delimited), raw TLS servers answering
// malformed HTTP, and a fuzz run of response bytes. Through a TLS worker too.
import assert from 'node:assert/strict';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TlsError, connectTls } from '../lib/index.js';
import { createPskFetch } from '../lib/fetch/index.js';
import { startBridge } from '../lib/node/bridge.js';
import { createTlsWorker } from '../lib/worker/index.js';
import { startDevice } from '../examples/redfish/device.mjs';
import { fuzzHttp } from '../fuzz/http-fuzz.mjs';
import { deviceApi } from './helpers/device-api.js';
import { nodeTlsServer, websockify, opensslServer, pskArgs, stopPeers, waitUntil } from './helpers/peers.js';

after(stopPeers);

const KEY = webcrypto.getRandomValues(new Uint8Array(32));
const IDENTITY = 'device-1';

/** A device API behind the bridge, and a pskFetch for it. */
async function device(fetchOptions = {}, serverOptions = {}) {
  const server = await startDevice({ identity: IDENTITY, key: KEY, handler: deviceApi, ...serverOptions });
  const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
  const pskFetch = createPskFetch({
    bridge: bridge.url,
    tls: { psk: { identity: IDENTITY, key: KEY } },
    ...fetchOptions,
  });
  return {
    base: `https://127.0.0.1:${server.port}`,
    bridgeUrl: bridge.url,
    server,
    pskFetch,
    stop: async () => {
      pskFetch.close();
      await bridge.close();
      await server.stop();
    },
  };
}

describe('pskFetch against Node https with a PSK', () => {
  test('GET a JSON API; the Response is standard (status, headers, json(), url)', async () => {
    const d = await device();
    try {
      const res = await d.pskFetch(`${d.base}/redfish/v1/Systems`);
      assert.ok(res instanceof Response);
      assert.equal(res.status, 200);
      assert.equal(res.ok, true);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.equal(res.url, `${d.base}/redfish/v1/Systems`);
      assert.equal(res.redirected, false);
      const systems = await res.json();
      assert.equal(systems['Members@odata.count'], 1);
      assert.deepEqual(systems.Members, [{ '@odata.id': '/redfish/v1/Systems/1' }]);
      const system = await (await d.pskFetch(new URL(systems.Members[0]['@odata.id'], d.base))).json();
      assert.equal(system.PowerState, 'On');
      const missing = await d.pskFetch(`${d.base}/nothing`);
      assert.equal(missing.status, 404);
      assert.equal(await missing.text(), 'not found');
    } finally {
      await d.stop();
    }
  });

  test('request bodies: a string with Content-Length, bytes, a stream sent chunked, a Request object; the caller keeps its bytes', async () => {
    const d = await device();
    try {
      let res = await d.pskFetch(`${d.base}/echo`, { method: 'POST', body: '{"PowerState":"On"}', headers: { 'content-type': 'application/json' } });
      let echoed = await res.json();
      assert.equal(echoed.method, 'POST');
      assert.equal(Buffer.from(echoed.body, 'base64').toString(), '{"PowerState":"On"}');
      assert.equal(echoed.type, 'application/json');
      assert.equal(res.headers.get('x-request-length'), '19');

      const bytes = new Uint8Array(randomBytes(100_000));
      const copy = bytes.slice();
      res = await d.pskFetch(`${d.base}/echo`, { method: 'PUT', body: bytes });
      echoed = await res.json();
      assert.equal(echoed.sha256, createHash('sha256').update(copy).digest('hex'));
      assert.deepEqual(bytes, copy, 'the caller keeps its buffer');

      const parts = ['streamed ', 'request ', 'body'];
      const stream = new ReadableStream({ pull: (c) => (parts.length ? c.enqueue(new TextEncoder().encode(parts.shift())) : c.close()) });
      res = await d.pskFetch(`${d.base}/echo`, { method: 'POST', body: stream, duplex: 'half' });
      assert.equal(res.headers.get('x-request-te'), 'chunked');
      assert.equal(Buffer.from((await res.json()).body, 'base64').toString(), 'streamed request body');

      res = await d.pskFetch(new Request(`${d.base}/echo`, { method: 'PATCH', body: new URLSearchParams({ a: '1', b: 'two' }) }));
      echoed = await res.json();
      assert.equal(echoed.method, 'PATCH');
      assert.equal(echoed.type, 'application/x-www-form-urlencoded;charset=UTF-8');
      assert.equal(Buffer.from(echoed.body, 'base64').toString(), 'a=1&b=two');
    } finally {
      await d.stop();
    }
  });

  test('a chunked response of 8 MiB streams intact; a slow body is readable before it ends', async () => {
    const d = await device();
    try {
      const res = await d.pskFetch(`${d.base}/chunked?bytes=${8 << 20}`);
      assert.equal(res.headers.get('transfer-encoding'), 'chunked');
      const hash = createHash('sha256');
      let size = 0;
      let chunks = 0;
      for await (const piece of res.body) {
        hash.update(piece);
        size += piece.length;
        chunks++;
      }
      const expected = Buffer.alloc(8 << 20);
      for (let i = 0; i < expected.length; i++) expected[i] = i & 0xff;
      assert.equal(size, 8 << 20);
      assert.equal(hash.digest('hex'), createHash('sha256').update(expected).digest('hex'));
      assert.ok(chunks > 10, 'the body arrived in pieces, not all at once');

      const slow = await d.pskFetch(`${d.base}/slow?ms=400`);
      const reader = slow.body.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.equal(first, 'first part; ', 'the first part is readable while the server still waits');
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      assert.equal(rest, 'second part');
    } finally {
      await d.stop();
    }
  });

  test('keep-alive: sequential requests share one TLS connection; the pool is bounded per origin and idle connections close', async () => {
    const d = await device({ maxConnectionsPerOrigin: 2, idleTimeoutMs: 300 });
    try {
      // The bodies are never read: a response that has arrived in full frees its connection anyway.
      for (let i = 0; i < 5; i++) assert.equal((await d.pskFetch(`${d.base}/redfish/v1/Systems`)).status, 200);
      assert.equal(d.server.accepted(), 1, 'one connection for five requests');
      const slow = await Promise.all(Array.from({ length: 5 }, () => d.pskFetch(`${d.base}/slow?ms=150`).then((r) => r.text())));
      assert.deepEqual(new Set(slow), new Set(['first part; second part']));
      assert.ok(d.server.accepted() <= 3, `at most 2 connections at once (${d.server.accepted()} accepted in all)`);
      await waitUntil(() => d.server.open() === 0, 3000);
      assert.equal(d.server.open(), 0, 'idle connections closed after idleTimeoutMs');
    } finally {
      await d.stop();
    }
  });

  test('a body nobody reads: the read-ahead stays bounded (64 KiB here), the server is held back, cancel() frees the connection', async () => {
    let written = 0;
    let serverRes = null;
    const d = await device(
      {},
      {
        handler: async (req, res) => {
          serverRes = res;
          res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked, endless
          const piece = Buffer.alloc(16384, 0x61);
          while (!res.destroyed) {
            if (res.write(piece)) written += piece.length;
            else {
              await new Promise((resolve) => {
                const go = () => (res.off('drain', go), res.off('close', go), resolve());
                res.on('drain', go).on('close', go);
              });
              written += piece.length;
            }
          }
        },
      },
    );
    try {
      const res = await d.pskFetch(`${d.base}/endless`);
      // Wait for the server to be held back: its count stops growing once the read-ahead, the
      // WebSocket's pause and the kernel's socket buffers (two TCP hops, MBs each) are full.
      // Were the body read without bound, it would grow for ever.
      let last = -1;
      for (let i = 0; i < 40 && written !== last; i++) {
        last = written;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(written, last, `the server is still writing (${written} bytes) into a body nobody reads`);
      assert.ok(written < 64 << 20, `${written} bytes buffered`);
      await res.body.cancel();
      await waitUntil(() => serverRes.destroyed, 5000);
    } finally {
      await d.stop();
    }
  });

  test('a kept-alive connection the server closed is noticed, and the request goes on a new one', async () => {
    const d = await device({ idleTimeoutMs: 10_000 }, { keepAliveTimeout: 100 });
    try {
      assert.equal((await d.pskFetch(`${d.base}/redfish/v1/Systems`)).status, 200);
      await new Promise((r) => setTimeout(r, 400)); // the server closes its idle connection
      const res = await d.pskFetch(`${d.base}/redfish/v1/Systems`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(d.server.accepted(), 2);
    } finally {
      await d.stop();
    }
  });

  test('redirects: followed within the origin (303 becomes GET), not to another origin; manual and error modes', async () => {
    const d = await device();
    try {
      let res = await d.pskFetch(`${d.base}/redirect`);
      assert.equal(res.status, 200);
      assert.equal(res.redirected, true);
      assert.equal(res.url, `${d.base}/redfish/v1/Systems`);
      await res.arrayBuffer();

      res = await d.pskFetch(`${d.base}/redirect?status=303&to=/echo`, { method: 'POST', body: 'dropped' });
      assert.equal((await res.json()).method, 'GET');
      res = await d.pskFetch(`${d.base}/redirect?status=307&to=/echo`, { method: 'POST', body: 'kept' });
      const kept = await res.json();
      assert.deepEqual([kept.method, Buffer.from(kept.body, 'base64').toString()], ['POST', 'kept']);

      await assert.rejects(
        d.pskFetch(`${d.base}/redirect?to=https://127.0.0.2:1/x`),
        (e) => e instanceof TlsError && e.code === 'ERR_HTTP_REDIRECT' && /another origin/.test(e.message),
      );
      res = await d.pskFetch(`${d.base}/redirect?to=https://127.0.0.2:1/x`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), 'https://127.0.0.2:1/x');
      await assert.rejects(d.pskFetch(`${d.base}/redirect`, { redirect: 'error' }), { code: 'ERR_HTTP_REDIRECT' });
      await assert.rejects(d.pskFetch(`${d.base}/loop`), (e) => e.code === 'ERR_HTTP_REDIRECT' && /more than 20/.test(e.message));
      const stream = new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array([1])), c.close()) });
      await assert.rejects(d.pskFetch(`${d.base}/redirect?status=307&to=/echo`, { method: 'POST', body: stream, duplex: 'half' }), {
        code: 'ERR_HTTP_REDIRECT',
      });
    } finally {
      await d.stop();
    }
  });

  test('AbortSignal before, while waiting for the head, and during the body; a timeout for a server that never answers', async () => {
    const d = await device({ timeoutMs: 500 });
    try {
      await assert.rejects(d.pskFetch(`${d.base}/redfish/v1/Systems`, { signal: AbortSignal.abort() }), { name: 'AbortError' });
      const waiting = new AbortController();
      const pending = d.pskFetch(`${d.base}/slow?ms=2000`, { signal: waiting.signal });
      const res = await pending;
      const reader = res.body.getReader();
      await reader.read();
      waiting.abort();
      await assert.rejects(reader.read(), { name: 'AbortError' });
      const never = new AbortController();
      const neverAnswered = d.pskFetch(`${d.base}/never`, { signal: never.signal });
      setTimeout(() => never.abort(), 100);
      await assert.rejects(neverAnswered, { name: 'AbortError' });
      await assert.rejects(d.pskFetch(`${d.base}/never`), (e) => e instanceof TlsError && e.code === 'ERR_TIMEOUT');
      await waitUntil(() => d.server.open() <= 1, 3000);
      assert.ok(d.server.open() <= 1, 'aborted and timed-out connections are closed');
    } finally {
      await d.stop();
    }
  });

  test('a server that cuts the body short: the body fails with a typed error; a 204 has no body', async () => {
    const d = await device();
    try {
      const res = await d.pskFetch(`${d.base}/cut`);
      assert.equal(res.status, 200);
      await assert.rejects(res.text(), (e) => e instanceof TlsError && ['ERR_HTTP', 'ERR_TRUNCATED', 'ERR_TRANSPORT'].includes(e.code));
      const empty = await d.pskFetch(`${d.base}/no-content`);
      assert.equal(empty.status, 204);
      assert.equal(empty.body, null);
    } finally {
      await d.stop();
    }
  });

  test('where the socket comes from: target (websockify), connect(origin, hostPort) with port 443 by default; a connect that throws, and options that conflict, are typed errors', async () => {
    const d = await device();
    const ws = await websockify(Number(new URL(d.base).port));
    try {
      const viaTarget = createPskFetch({ target: ws.url, tls: { psk: { identity: IDENTITY, key: KEY } } });
      assert.equal((await (await viaTarget(`${d.base}/redfish/v1`)).json()).Name, 'Root Service');
      viaTarget.close();

      const seen = [];
      const throwing = createPskFetch({
        connect: (origin, hostPort) => {
          seen.push([origin.href, hostPort]);
          throw new TypeError('no route today');
        },
      });
      await assert.rejects(
        throwing('https://device.example/redfish/v1'),
        (e) => e instanceof TlsError && e.code === 'ERR_TRANSPORT' && e.cause instanceof TypeError,
      );
      await assert.rejects(throwing('https://[::1]:8443/x'), { code: 'ERR_TRANSPORT' });
      assert.deepEqual(seen, [
        ['https://device.example/', 'device.example:443'],
        ['https://[::1]:8443/', '[::1]:8443'],
      ]);

      for (const bad of [{}, { bridge: d.bridgeUrl, target: ws.url }, { bridge: 'http://x' }, { connect: 'ws://x' }, { target: 42 }]) {
        assert.throws(() => createPskFetch(bad), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(bad));
      }
    } finally {
      await ws.stop();
      await d.stop();
    }
  });

  test('what pskFetch refuses: http:, credentials in the URL, a GET with a body, CONNECT; a wrong key is a TLS error', async () => {
    const d = await device();
    try {
      await assert.rejects(d.pskFetch(`http://127.0.0.1:1/`), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /https:/.test(e.message));
      await assert.rejects(d.pskFetch(`https://user:pass@127.0.0.1:1/`), { code: 'ERR_INVALID_ARGUMENT' });
      await assert.rejects(d.pskFetch(`${d.base}/echo`, { body: 'x' }), { code: 'ERR_INVALID_ARGUMENT' });
      await assert.rejects(d.pskFetch(`${d.base}/echo`, { method: 'CONNECT' }), { code: 'ERR_INVALID_ARGUMENT' });
      assert.throws(() => createPskFetch({}), { code: 'ERR_INVALID_ARGUMENT' });
      const wrong = createPskFetch({
        connect: (origin, hostPort) => connectTls(`${d.bridgeUrl}/${hostPort}`, { psk: { identity: IDENTITY, key: new Uint8Array(32) } }),
      });
      await assert.rejects(wrong(`${d.base}/redfish/v1/Systems`), (e) => e instanceof TlsError && e.code === 'ERR_PSK_WRONG_KEY');
      wrong.close();
      d.pskFetch.close();
      await assert.rejects(d.pskFetch(`${d.base}/redfish/v1/Systems`), { code: 'ERR_CLOSED' });
    } finally {
      await d.stop();
    }
  });
});

test('openssl s_server -WWW with a PSK: HTTP/1.0, a body delimited by the close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'www-'));
  writeFileSync(join(dir, 'status.json'), '{"health":"OK"}\n');
  const server = await opensslServer(['-nocert', '-tls1_3', ...pskArgs(IDENTITY, KEY), '-WWW'], { cwd: dir });
  const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
  const pskFetch = createPskFetch({ connect: (origin) => connectTls(`${bridge.url}/${origin.host}`, { psk: { identity: IDENTITY, key: KEY } }) });
  try {
    for (let i = 0; i < 2; i++) {
      const res = await pskFetch(`https://127.0.0.1:${server.port}/status.json`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '{"health":"OK"}\n');
    }
  } finally {
    pskFetch.close();
    await bridge.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A raw TLS-PSK server behind the bridge whose connections `onConnection` answers by hand; counts them. */
async function rawDevice(onConnection, fetchOptions = {}) {
  const stats = { connections: 0, open: 0, maxOpen: 0, requests: [] };
  const server = await nodeTlsServer({ identity: IDENTITY, key: KEY }, (socket) => {
    stats.connections++;
    stats.maxOpen = Math.max(stats.maxOpen, ++stats.open);
    socket.on('close', () => stats.open--);
    socket.on('data', (d) => stats.requests.push(d));
    onConnection(socket);
  });
  const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
  const pskFetch = createPskFetch({ bridge: bridge.url, tls: { psk: { identity: IDENTITY, key: KEY } }, ...fetchOptions });
  return {
    base: `https://127.0.0.1:${server.port}`,
    stats,
    pskFetch,
    stop: async () => (pskFetch.close(), await bridge.close(), await server.stop()),
  };
}

/** Answers each request on a connection with the next of `answers` (a string, or a function of the socket). */
const answering = (answers) => (socket) =>
  socket.on('data', () => {
    const next = answers.shift() ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    if (typeof next === 'function') next(socket);
    else socket.write(next);
  });

describe('pskFetch against hostile servers, and misuse', () => {
  test('a response that cannot be a Response (bad header name, status 600) fails typed, and its connection is closed once: the pool bound holds', async () => {
    const bad = [
      'HTTP/1.1 200 OK\r\nBad(Name: x\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nBad(Name: x\r\nContent-Length: 2\r\n\r\nok',
    ];
    const d = await rawDevice(answering(bad), { maxConnectionsPerOrigin: 1 });
    try {
      for (let i = 0; i < 3; i++)
        await assert.rejects(
          d.pskFetch(`${d.base}/bad`),
          (e) => e instanceof TlsError && e.code === 'ERR_HTTP' && /cannot be represented|cannot have/.test(e.message),
        );
      const results = await Promise.all(Array.from({ length: 4 }, () => d.pskFetch(`${d.base}/good`).then((r) => r.text())));
      assert.deepEqual(results, ['ok', 'ok', 'ok', 'ok']);
      assert.equal(d.stats.maxOpen, 1, 'never more connections than maxConnectionsPerOrigin');
    } finally {
      await d.stop();
    }
  });

  test('framing the parser would misread is refused: Content-Length lists, codings other than chunked; with both headers the connection is not reused', async () => {
    const d = await rawDevice(
      answering([
        'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello',
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      ]),
    );
    try {
      await assert.rejects(d.pskFetch(`${d.base}/1`), (e) => e.code === 'ERR_HTTP' && /Content-Length/.test(e.message));
      await assert.rejects(d.pskFetch(`${d.base}/2`), (e) => e.code === 'ERR_HTTP' && /transfer coding/.test(e.message));
      const before = d.stats.connections;
      assert.equal(await (await d.pskFetch(`${d.base}/3`)).text(), 'ok');
      assert.equal(await (await d.pskFetch(`${d.base}/4`)).text(), 'ok');
      assert.equal(d.stats.connections, before + 2, 'a connection for /3 and another for /4: the CL+TE one was not reused');
    } finally {
      await d.stop();
    }
  });

  test('an endless chunk extension or endless trailers: ERR_HTTP once past the head bound, not memory without end', async () => {
    const endless = (start, piece) => (socket) => {
      socket.write(start);
      const blob = Buffer.from(piece.repeat(Math.ceil(65536 / piece.length)));
      const more = () => {
        for (let i = 0; i < 64 && !socket.destroyed; i++) if (!socket.write(blob)) return socket.once('drain', more);
      };
      more();
    };
    const d = await rawDevice(
      answering([
        endless('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;x=', 'a'),
        endless('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n', 'X-T: aaaaaaaa\r\n'),
      ]),
    );
    try {
      for (const path of ['/extension', '/trailers']) {
        const res = await d.pskFetch(`${d.base}${path}`);
        await assert.rejects(res.arrayBuffer(), (e) => e instanceof TlsError && e.code === 'ERR_HTTP', path);
      }
    } finally {
      await d.stop();
    }
  });

  test('bytes after a complete response: the response is kept, the connection is not reused', async () => {
    const d = await rawDevice(
      answering([
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      ]),
    );
    try {
      assert.equal(await (await d.pskFetch(`${d.base}/1`)).text(), 'ok');
      assert.equal(await (await d.pskFetch(`${d.base}/2`)).text(), 'ok');
      assert.equal(d.stats.connections, 2);
    } finally {
      await d.stop();
    }
  });

  test('a waiter aborted just as its turn comes passes the turn on; waiting for a connection that never frees ends in ERR_TIMEOUT that says why', async () => {
    const big = (socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${1 << 20}\r\n\r\n${'x'.repeat(1 << 20)}`);
    const d = await rawDevice(answering([big, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC', big]), { maxConnectionsPerOrigin: 1, timeoutMs: 1500 });
    try {
      const a = await d.pskFetch(`${d.base}/a`);
      const abortB = new AbortController();
      const b = d.pskFetch(`${d.base}/b`, { signal: abortB.signal }).then(
        () => 'answered',
        (e) => e.name,
      );
      const c = d.pskFetch(`${d.base}/c`).then((r) => r.text());
      await new Promise((r) => setTimeout(r, 200));
      void a.body.cancel(); // frees the connection: B's turn
      abortB.abort(); // ...which B gives up at once
      assert.equal(await b, 'AbortError');
      assert.equal(await c, 'C');
      const held = await d.pskFetch(`${d.base}/held`); // 1 MiB, never read: holds the only connection
      assert.equal(held.status, 200);
      await assert.rejects(d.pskFetch(`${d.base}/next`), (e) => e.code === 'ERR_TIMEOUT' && /not read to their end/.test(e.message));
      await held.body.cancel();
    } finally {
      await d.stop();
    }
  });

  test('a request body stream that fails, or carries strings, fails the request at once with its own error; a slow upload is not timed out', async () => {
    const d = await device({ timeoutMs: 1000 });
    try {
      const failing = new ReadableStream({ pull: (c) => c.error(new Error('disk read failed')) });
      const started = Date.now();
      await assert.rejects(
        d.pskFetch(`${d.base}/echo`, { method: 'POST', body: failing, duplex: 'half' }),
        (e) => e.code === 'ERR_INVALID_ARGUMENT' && /disk read failed/.test(e.message),
      );
      const strings = new ReadableStream({ start: (c) => (c.enqueue('text'), c.close()) });
      await assert.rejects(
        d.pskFetch(`${d.base}/echo`, { method: 'POST', body: strings, duplex: 'half' }),
        (e) => e.code === 'ERR_INVALID_ARGUMENT' && /Uint8Array/.test(e.message),
      );
      assert.ok(Date.now() - started < 900, 'not after the timeout');
      let n = 0;
      const slow = new ReadableStream({
        pull: async (c) => {
          await new Promise((r) => setTimeout(r, 300));
          if (n++ < 6) c.enqueue(new Uint8Array(10).fill(0x61));
          else c.close();
        },
      });
      const res = await d.pskFetch(`${d.base}/echo`, { method: 'POST', body: slow, duplex: 'half' }); // 2 s, twice timeoutMs
      assert.equal(Buffer.from((await res.json()).body, 'base64').toString(), 'a'.repeat(60));
    } finally {
      await d.stop();
    }
  });

  test('misuse is typed: a Location that is no URL, a method that is no string, a Request already read; the fragment is not in res.url; header values go as Latin-1', async () => {
    const d = await rawDevice(answering(['HTTP/1.1 302 Found\r\nLocation: https://exa mple:99999/\r\nContent-Length: 0\r\n\r\n']));
    try {
      await assert.rejects(d.pskFetch(`${d.base}/moved`), (e) => e.code === 'ERR_HTTP_REDIRECT' && /not a URL/.test(e.message));
      await assert.rejects(d.pskFetch(`${d.base}/x`, { method: 1 }), { code: 'ERR_INVALID_ARGUMENT' });
      const used = new Request(`${d.base}/x`, { method: 'POST', body: 'once' });
      await used.text();
      await assert.rejects(d.pskFetch(used), (e) => e.code === 'ERR_INVALID_ARGUMENT' && /already read/.test(e.message));
      const res = await d.pskFetch(`${d.base}/page#section`, { headers: { 'x-name': 'Jos\u00e9' } });
      assert.equal(res.url, `${d.base}/page`);
      const request = Buffer.concat(d.stats.requests.slice(-1));
      assert.ok(request.includes(Buffer.from('x-name: Jos\xe9\r\n', 'latin1')), request.toString('latin1'));
    } finally {
      await d.stop();
    }
  });

  test('one AbortSignal for many requests whose bodies are not read: no listener left on it', async () => {
    const d = await device();
    try {
      const controller = new AbortController();
      for (let i = 0; i < 30; i++) assert.equal((await d.pskFetch(`${d.base}/redfish/v1`, { signal: controller.signal })).status, 200);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    } finally {
      await d.stop();
    }
  });
});

test('malformed responses from a raw TLS server: each a typed ERR_HTTP, never a hang', async () => {
  const answers = {
    'not HTTP at all': 'SSH-2.0-OpenSSH_9.2\r\n',
    'a status out of range': 'HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n',
    'a 101 Switching Protocols': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
    'a bad Content-Length': 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabc',
    'two different Content-Lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'a bad chunk size': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    'a head of 100 KB': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
    'a head cut by the close': 'HTTP/1.1 200 OK\r\nContent-Ty',
    nothing: '',
  };
  const pending = [];
  const server = await nodeTlsServer({ identity: IDENTITY, key: KEY }, (socket) => socket.once('data', () => socket.end(pending.shift())));
  const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
  const pskFetch = createPskFetch({
    connect: (origin) => connectTls(`${bridge.url}/${origin.host}`, { psk: { identity: IDENTITY, key: KEY } }),
    timeoutMs: 5000,
  });
  try {
    for (const [name, answer] of Object.entries(answers)) {
      pending.push(answer);
      const outcome = await pskFetch(`https://127.0.0.1:${server.port}/`).then(
        async (res) =>
          `a response ${res.status}: ${await res.text().then(
            () => 'read',
            (e) => e.code,
          )}`,
        (e) => (e instanceof TlsError ? e.code : `${e.name}: ${e.message}`),
      );
      assert.equal(outcome, 'ERR_HTTP', name);
    }
  } finally {
    pskFetch.close();
    await bridge.close();
    await server.stop();
  }
});

test('fuzzed response bytes (1,000): a Response read to its end or a TlsError, nothing hangs, no connection left open', async () => {
  const result = await fuzzHttp({ count: 1000, seconds: 120, seed: 5 });
  assert.deepEqual(result.crashers, []);
  assert.equal(result.requests, 1000);
  assert.ok(result.responses > 100 && Object.values(result.errors).reduce((a, b) => a + b, 0) > 100, JSON.stringify(result));
  assert.equal(result.leftOpen, 0);
});

test('through a TLS worker: the key stays in the worker, HTTP runs on the page side', async () => {
  const server = await startDevice({ identity: IDENTITY, key: KEY, handler: deviceApi });
  const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
  const worker = await createTlsWorker();
  try {
    await worker.importPsk(IDENTITY, KEY.slice().buffer);
    const pskFetch = createPskFetch({ connect: (origin, hostPort) => worker.connect(`${bridge.url}/${hostPort}`, { identity: IDENTITY }) });
    const res = await pskFetch(`https://127.0.0.1:${server.port}/redfish/v1/Systems`);
    assert.equal((await res.json())['Members@odata.count'], 1);
    const posted = await pskFetch(`https://127.0.0.1:${server.port}/echo`, { method: 'POST', body: 'through the worker' });
    assert.equal(Buffer.from((await posted.json()).body, 'base64').toString(), 'through the worker');
    assert.equal(server.accepted(), 1, 'kept alive through the worker too');
    pskFetch.close();
  } finally {
    worker.terminate();
    await bridge.close();
    await server.stop();
  }
});
