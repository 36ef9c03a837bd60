// preload(): starts fetching and compiling the module, once per URL, with no instance made;
// importing the package does nothing until something is called; a module that cannot be
// loaded gives a typed ERR_WASM_LOAD (and `void preload()` leaves no unhandled rejection).
// The same checks run in the three browser engines (test/e2e/browser-suite.js).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { opensslServer, pskArgs, stopPeers } from './helpers/peers.js';

after(stopPeers);

const run = promisify(execFile);
const lib = new URL('../lib/index.js', import.meta.url).href;

const fullLib = new URL('../lib/full.js', import.meta.url).href;
const bridgeLib = new URL('../lib/node/bridge.js', import.meta.url).href;

/** Runs `body` in a fresh Node process, after counting WebAssembly's compile and instantiate calls; its JSON result. */
async function fresh(body) {
  const script = `
    const calls = { compile: 0, instantiate: 0 };
    for (const [name, kind] of [['compile', 'compile'], ['compileStreaming', 'compile'], ['instantiate', 'instantiate'], ['instantiateStreaming', 'instantiate']]) {
      const original = WebAssembly[name];
      WebAssembly[name] = function (...args) { calls[kind]++; return original.apply(this, args); };
    }
    const unhandled = [];
    process.on('unhandledRejection', (reason) => unhandled.push(String(reason)));
    const lib = await import(${JSON.stringify(lib)});
    const full = await import(${JSON.stringify(fullLib)});
    const { startBridge } = await import(${JSON.stringify(bridgeLib)});
    const result = await (async () => { ${body} })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.stdout.write(JSON.stringify({ ...result, unhandled }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout);
}

test('importing the package compiles and instantiates nothing; preload() compiles once, however often called, and instantiates nothing', async () => {
  const r = await fresh(`
    await new Promise((resolve) => setTimeout(resolve, 50));
    const atImport = { ...calls };
    const results = await Promise.all([lib.preload(), lib.preload()]);
    await lib.preload();
    const afterPreload = { ...calls };
    const ossl = await lib.loadOpenSSL();
    return { atImport, results, afterPreload, afterLoad: { ...calls }, version: ossl.version };
  `);
  assert.deepEqual(r.atImport, { compile: 0, instantiate: 0 }, 'no side effect at import');
  assert.deepEqual(r.results, [null, null], 'preload() resolves with nothing');
  assert.deepEqual(r.afterPreload, { compile: 1, instantiate: 0 }, 'compiled once, not instantiated');
  assert.deepEqual(r.afterLoad, { compile: 1, instantiate: 1 }, 'loadOpenSSL() then reuses the compiled module');
  assert.match(r.version, /^OpenSSL 1\.1\.1w/);
  assert.deepEqual(r.unhandled, []);
});

test("each entry point's preload() compiles its own build: openssl-psk-wasm/full's, once, is what its loadOpenSSL() then instantiates", async () => {
  const r = await fresh(`
    await Promise.all([full.preload(), full.preload()]);
    const afterFull = { ...calls };
    const fullOssl = await full.loadOpenSSL();
    const afterFullLoad = { ...calls };
    let refused = null;
    try {
      fullOssl.createContext({ role: 'client', ca: 'not a certificate' }).free();
    } catch (error) {
      refused = error.code;
    }
    await lib.preload();
    const afterPsk = { ...calls };
    const pskOssl = await lib.loadOpenSSL();
    let pskRefused = null;
    try {
      pskOssl.createContext({ role: 'client', ca: 'not a certificate' }).free();
    } catch (error) {
      pskRefused = error.code;
    }
    return { afterFull, afterFullLoad, afterPsk, afterPskLoad: { ...calls }, refused, pskRefused };
  `);
  assert.deepEqual(r.afterFull, { compile: 1, instantiate: 0 }, 'the full build compiled once, not instantiated');
  assert.deepEqual(r.afterFullLoad, { compile: 1, instantiate: 1 }, "the full entry's loadOpenSSL() reuses what its preload() compiled");
  assert.notEqual(r.refused, 'ERR_FULL_BUILD_REQUIRED', 'the instance preloaded by the full entry is the full build');
  assert.deepEqual(r.afterPsk, { compile: 2, instantiate: 1 }, "openssl-psk-wasm's preload() compiles the PSK build, a module of its own");
  assert.deepEqual(r.afterPskLoad, { compile: 2, instantiate: 2 });
  assert.equal(r.pskRefused, 'ERR_FULL_BUILD_REQUIRED', 'the PSK entry loads the PSK build');
  assert.deepEqual(r.unhandled, []);
});

test('preload() of a module that is not there rejects with ERR_WASM_LOAD; ignored, it leaves no unhandled rejection', async () => {
  const r = await fresh(`
    const missing = new URL('./no-such-module.wasm', ${JSON.stringify(lib)});
    void lib.preload({ wasmUrl: missing });
    try {
      await lib.preload({ wasmUrl: missing });
      return { rejected: false };
    } catch (error) {
      return { rejected: true, typed: error instanceof lib.TlsError, code: error.code, message: error.message };
    }
  `);
  assert.equal(r.rejected, true);
  assert.equal(r.typed, true);
  assert.equal(r.code, 'ERR_WASM_LOAD');
  assert.match(r.message, /no-such-module\.wasm could not be read/);
  assert.deepEqual(r.unhandled, []);
});

test('the first connectTls() opens its WebSocket while the module loads: compiling waits for the WebSocket, and the echo completes', async () => {
  const key = Buffer.alloc(32, 0x2a);
  const server = await opensslServer(['-nocert', '-tls1_3', '-rev', ...pskArgs('overlap', key)]);
  const r = await fresh(`
    let arrived;
    const opened = new Promise((resolve) => (arrived = resolve));
    const bridge = await startBridge({ allow: ['127.0.0.1:${server.port}'], onEvent: (e) => e.type === 'open' && arrived() });
    // Compiling (the first step of loading the module) waits until the bridge has the WebSocket:
    // a socket that opened its WebSocket only once the module was loaded would never get there.
    const compile = WebAssembly.compile;
    let order = 'module first';
    WebAssembly.compile = async function (...args) {
      const waited = await Promise.race([opened.then(() => 'WebSocket first'), new Promise((resolve) => setTimeout(resolve, 10_000, 'module first'))]);
      order = waited;
      return compile.apply(this, args);
    };
    try {
      const socket = lib.connectTls(bridge.url + '/127.0.0.1:${server.port}', { psk: { identity: 'overlap', key: new Uint8Array(32).fill(0x2a) } });
      await socket.opened;
      const writer = socket.writable.getWriter();
      await writer.write(new TextEncoder().encode('abc\\n'));
      const reader = socket.readable.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      await socket.close();
      return { order, answer: new TextDecoder().decode(value) };
    } finally {
      await bridge.close();
    }
  `);
  assert.equal(r.order, 'WebSocket first');
  assert.equal(r.answer, 'cba\n');
  assert.deepEqual(r.unhandled, []);
});
