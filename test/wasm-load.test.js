// Loading the module from where it is not: each failure an ERR_WASM_LOAD that names the URL
// asked, says what came back (status, content type, first bytes) and how to fix it; and
// createTlsWorker() rejects at once when its worker cannot load OpenSSL (not at the first call).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { TlsError, loadOpenSSL } from '../lib/index.js';
import { createTlsWorker } from '../lib/worker/index.js';

const wasm = readFileSync(new URL('../dist/browser/openssl-psk.wasm', import.meta.url));
let server;
let base;

before(async () => {
  // What a misconfigured host answers: an SPA's index.html for every path, a 404, a wrong type.
  server = createServer((req, res) => {
    if (req.url === '/spa/openssl-psk.wasm') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>app</body></html>');
    if (req.url === '/octet/openssl-psk.wasm') return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(wasm);
    if (req.url === '/empty/openssl-psk.wasm') return res.writeHead(200, { 'content-type': 'application/wasm' }).end();
    if (req.url === '/truncated/openssl-psk.wasm') return res.writeHead(200, { 'content-type': 'application/wasm' }).end(wasm.subarray(0, 5000));
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));

const rejectsWith = (promise, pattern) =>
  assert.rejects(promise, (e) => {
    assert.ok(e instanceof TlsError, String(e));
    assert.equal(e.code, 'ERR_WASM_LOAD');
    assert.match(e.message, pattern);
    return true;
  });

describe('ERR_WASM_LOAD says what went wrong and how to fix it', () => {
  test('an HTML page where the .wasm should be (an SPA fallback): the URL, the type, the first bytes, the fix', async () => {
    await rejectsWith(
      loadOpenSSL({ wasmUrl: `${base}/spa/openssl-psk.wasm` }),
      /\/spa\/openssl-psk\.wasm is not a WebAssembly module: \d+ bytes of text\/html starting 3c 21 64 6f .*"<!doctype html><" \(a module starts 00 61 73 6d.*wasmUrl/,
    );
  });

  test('a 404: the URL, the status and the fix', async () => {
    await rejectsWith(
      loadOpenSSL({ wasmUrl: `${base}/missing/openssl-psk.wasm` }),
      /\/missing\/openssl-psk\.wasm answered 404 Not Found \(text\/plain\).*dist\/browser\/openssl-psk\.wasm.*wasmUrl/,
    );
  });

  test('an empty body and a truncated module: said as such; served as application/octet-stream the module still loads', async () => {
    await rejectsWith(
      loadOpenSSL({ wasmUrl: `${base}/empty/openssl-psk.wasm` }),
      /is not a WebAssembly module: 0 bytes of application\/wasm starting \(nothing\)/,
    );
    await rejectsWith(loadOpenSSL({ wasmUrl: `${base}/truncated/openssl-psk.wasm` }), /truncated\/openssl-psk\.wasm could not be compiled/);
    const ossl = await loadOpenSSL({ wasmUrl: `${base}/octet/openssl-psk.wasm` });
    assert.ok(ossl);
  });

  test('nothing listening: the URL, and what may block it', async () => {
    await rejectsWith(
      loadOpenSSL({ wasmUrl: 'http://127.0.0.1:1/openssl-psk.wasm' }),
      /127\.0\.0\.1:1\/openssl-psk\.wasm could not be fetched \(network, CORS or Content-Security-Policy connect-src\)/,
    );
  });
});

describe('createTlsWorker({ wasmUrl })', () => {
  test("rejects at once, with the worker's ERR_WASM_LOAD, when its .wasm is not there", async () => {
    const started = Date.now();
    await rejectsWith(createTlsWorker({ wasmUrl: `${base}/spa/openssl-psk.wasm` }), /is not a WebAssembly module: .*text\/html/);
    assert.ok(Date.now() - started < 10_000);
  });

  test('loads the .wasm from where it is told; a second start() is refused, and so is a URL that is no http(s)', async () => {
    const worker = await createTlsWorker({ wasmUrl: `${base}/octet/openssl-psk.wasm` });
    try {
      await worker.importPsk('id', new Uint8Array(32).fill(7).buffer);
      assert.deepEqual(await worker.listPsks(), ['id']);
      await assert.rejects(
        worker.start({ wasmUrl: `${base}/spa/openssl-psk.wasm` }),
        (e) => e.code === 'ERR_INVALID_ARGUMENT' && /first and once/.test(e.message),
      );
      assert.deepEqual(await worker.listPsks(), ['id'], 'the worker goes on with its module and its keys');
    } finally {
      worker.terminate();
    }
    await assert.rejects(createTlsWorker({ wasmUrl: 'javascript:alert(1)' }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
