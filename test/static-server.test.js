// The static server of the examples, the browser tests and the benchmark sends what a
// production server would: text and the .wasm gzip-compressed when the client accepts it
// (the cold first byte of `npm run bench` depends on it), the file as it is otherwise.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, serveStatic } from '../examples/static-server.mjs';

const dist = fileURLToPath(new URL('../dist/browser/', import.meta.url));
const wasm = readFileSync(new URL('../dist/browser/openssl-psk.wasm', import.meta.url));
let web;
const requested = [];

before(async () => {
  web = await serveStatic({ mounts: { '/': dist }, onRequest: (path) => requested.push(path) });
});
after(() => web.close());

/** GET `path` with these request headers: { status, headers, body } (the body as sent, not decoded). */
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(`${web.url}${path}`, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
    req.end();
  });
}

test('the .wasm goes gzip-compressed to a client that accepts gzip, and decompresses to the same bytes', async () => {
  const r = await get('/openssl-psk.wasm', { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.equal(r.headers['content-type'], 'application/wasm');
  assert.equal(r.headers.vary, 'accept-encoding');
  assert.equal(Number(r.headers['content-length']), r.body.length);
  assert.ok(r.body.length < wasm.length / 1.5, `compressed: ${r.body.length} of ${wasm.length} bytes`);
  assert.deepEqual(gunzipSync(r.body), wasm);
});

test('without Accept-Encoding, or with gzip refused (q=0), the file goes as it is', async () => {
  for (const headers of [{}, { 'accept-encoding': 'gzip;q=0, identity' }]) {
    const r = await get('/openssl-psk.wasm', headers);
    assert.equal(r.headers['content-encoding'], undefined, JSON.stringify(headers));
    assert.deepEqual(r.body, wasm);
  }
});

test('JavaScript is compressed too; the same compressed bytes are served again; every request is seen by onRequest', async () => {
  const first = await get('/openssl-psk-wasm.js', { 'accept-encoding': 'gzip' });
  const second = await get('/openssl-psk-wasm.js', { 'accept-encoding': 'gzip' });
  assert.equal(first.headers['content-encoding'], 'gzip');
  assert.deepEqual(first.body, second.body);
  assert.deepEqual(gunzipSync(first.body), readFileSync(`${dist}openssl-psk-wasm.js`));
  assert.deepEqual(requested.slice(-2), ['/openssl-psk-wasm.js', '/openssl-psk-wasm.js']);
});

test('Accept-Encoding parsing: gzip and * allow it, unless q=0', () => {
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('br, gzip;q=0.5'), true);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('br, deflate'), false);
  assert.equal(acceptsGzip(undefined), false);
});
