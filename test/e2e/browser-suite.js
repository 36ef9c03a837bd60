// The browser tests, the same bodies in every engine (examples/browsers.mjs drives Chromium,
// Firefox and WebKit alike): the end-to-end scenario table from a page, two pages through a
// relay, a page that does not read, the relay example, and the TLS worker (sessions on each
// stream path the engine has, workers terminated and crashed, a compromised page's raw
// messages, a flood without credit, bulk both ways, accept() with an asynchronous key lookup,
// a strict Content-Security-Policy), and the key vault on its own origin (./vault-suite.js).
// Each file test/e2e/<engine>.test.js runs them for its engine.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { launchBrowser } from '../../examples/browsers.mjs';
import { startRelayDemo } from '../../examples/relay/relay.mjs';
import { serveStatic } from '../../examples/static-server.mjs';
import { startDevice } from '../../examples/redfish/device.mjs';
import { startBridge } from '../../lib/node/bridge.js';
import { connectTls } from '../../lib/index.js';
import { deviceApi } from '../helpers/device-api.js';
import { checkMqttRun, mqttSetup } from '../helpers/mqtt.js';
import { nodeTlsEchoServer, nodeTlsFloodServer, pskArgs, silentServer, stopPeers, waitUntil } from '../helpers/peers.js';
import { startRelay } from '../helpers/relay.js';
import { pbkdf2, serverBehindBridge } from '../helpers/setups.js';
import { SCENARIOS, checkOutcome, startScenario } from './scenarios.js';
import { checkBulkEcho, checkPortFlood, checkRawMessages, checkTwoWorkers, checkWorkerSession } from './worker-checks.js';
import { vaultTests } from './vault-suite.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self' ws://127.0.0.1:*";
const WORKER_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws://127.0.0.1:*";
const WORKER_SCRIPTS = new Set(['/lib/tls-worker.js', '/test-dist/tls-worker-debug.js']);

/** Which stream paths the engine has: WebKit cannot transfer streams, so only the port there. */
export const STREAM_PATHS = { chromium: ['transfer', 'port'], firefox: ['transfer', 'port'], webkit: ['port'] };

/** The README's recipe: a page that preloads the module (`?wasm=` its path) and the bundle. */
function preloadRecipePage(url) {
  const wasm = new URL(url, 'http://x').searchParams.get('wasm') ?? '';
  const attr = wasm.replace(/[^\w./-]/g, '');
  return `<!doctype html>
<meta charset="utf-8">
<title>preload recipe</title>
<link rel="modulepreload" href="/lib/openssl-psk-wasm.js">
<link rel="preload" href="${attr}" as="fetch" type="application/wasm" crossorigin>
`;
}

export function browserTests(engine) {
  let browser;
  let web; // the library and the e2e pages, no CSP: the engine runs in the page
  let strict; // a page whose CSP forbids WebAssembly; only the worker scripts may instantiate it
  const requests = new Map(); // path → how often `web` was asked for it

  before(async () => {
    browser = await launchBrowser(engine);
    web = await serveStatic({
      mounts: {
        '/lib/': here('../../dist/browser/'),
        '/e2e/': here('./'),
        '/vendor/': here('../../node_modules/mqtt/dist/'),
        '/examples/': here('../../examples/browser/'),
      },
      routes: { '/e2e/preload-recipe.html': (req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(preloadRecipePage(req.url)) },
      onRequest: (path) => requests.set(path, (requests.get(path) ?? 0) + 1),
    });
    strict = await serveStatic({
      // /strict/ serves the same bundle, but its worker gets the page's policy: no WebAssembly.
      mounts: {
        '/lib/': here('../../dist/browser/'),
        '/strict/': here('../../dist/browser/'),
        '/test-dist/': here('../../dist/test/'),
        '/e2e/': here('./'),
        '/vendor/': here('../../node_modules/mqtt/dist/'),
        '/examples/': here('../../examples/browser/'),
      },
      headers: (path) => ({ 'content-security-policy': WORKER_SCRIPTS.has(path) ? WORKER_CSP : PAGE_CSP }),
    });
  });
  after(async () => {
    await browser?.close();
    await web?.close();
    await strict?.close();
    await stopPeers();
  });

  /** A new page (a new window in WebKit) at `path`; closed by the caller. */
  async function open(server, path) {
    const page = await browser.newPage();
    await page.goto(`${server.url}${path}`);
    return page;
  }

  async function withPage(server, path, fn) {
    const page = await open(server, path);
    try {
      return await fn(page);
    } finally {
      await page.close();
    }
  }

  /** Runs client-run.js's runClient in a page with the bundled library. */
  const runClient = (page, args) =>
    page.evaluate(async (args) => {
      const lib = await import('/lib/openssl-psk-wasm.js');
      const { runClient } = await import('/e2e/client-run.js');
      return runClient(lib, args);
    }, args);

  describe(`${engine}: the engine in the page`, () => {
    for (const scenario of SCENARIOS) {
      test(scenario.name, async () => {
        const setup = await startScenario(scenario);
        try {
          const result = await withPage(web, '/e2e/page.html', (page) => runClient(page, setup.client));
          await checkOutcome(scenario, result, setup.server);
        } finally {
          await setup.stop();
        }
      });
    }

    test('objects free with free(), and [Symbol.dispose] exists exactly where the engine has the symbol (not in WebKit)', async () => {
      const r = await withPage(web, '/e2e/page.html', (page) =>
        page.evaluate(async () => {
          const { loadOpenSSL } = await import('/lib/openssl-psk-wasm.js');
          const ossl = await loadOpenSSL();
          const ctx = ossl.createContext({ role: 'client' });
          const conn = ctx.createConnection();
          const symbol = typeof Symbol.dispose === 'symbol';
          const r = { symbol, stray: 'undefined' in conn || 'undefined' in ctx, dispose: symbol ? typeof conn[Symbol.dispose] : 'none' };
          conn.free();
          ctx.free();
          r.freed = conn.freed && ctx.freed;
          return r;
        }, null),
      );
      assert.equal(r.symbol, engine !== 'webkit');
      assert.equal(r.stray, false, 'no method named "undefined"');
      assert.equal(r.dispose, engine === 'webkit' ? 'none' : 'function');
      assert.equal(r.freed, true);
    });

    test('importing the bundle fetches and compiles nothing; preload() fetches and compiles the .wasm once and instantiates nothing; a bad URL gives ERR_WASM_LOAD', async () => {
      const r = await withPage(web, '/e2e/page.html', (page) =>
        page.evaluate(async () => {
          const calls = { compile: 0, instantiate: 0 };
          for (const [name, kind] of [
            ['compile', 'compile'],
            ['compileStreaming', 'compile'],
            ['instantiate', 'instantiate'],
            ['instantiateStreaming', 'instantiate'],
          ]) {
            const original = WebAssembly[name];
            WebAssembly[name] = function (...args) {
              calls[kind]++;
              return original.apply(this, args);
            };
          }
          const wasmFetches = () => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).length;
          const lib = await import('/lib/openssl-psk-wasm.js');
          await new Promise((resolve) => setTimeout(resolve, 50));
          const atImport = { ...calls, fetches: wasmFetches() };
          const results = (await Promise.all([lib.preload(), lib.preload()])).map((value) => value === undefined);
          await lib.preload();
          const afterPreload = { ...calls, fetches: wasmFetches() };
          let bad;
          try {
            await lib.preload({ wasmUrl: '/lib/no-such-module.wasm' });
            bad = { rejected: false };
          } catch (error) {
            bad = { rejected: true, typed: error instanceof lib.TlsError, code: error.code, message: error.message };
          }
          return { atImport, results, afterPreload, bad };
        }, null),
      );
      assert.deepEqual(r.atImport, { compile: 0, instantiate: 0, fetches: 0 }, 'no side effect at import');
      assert.deepEqual(r.results, [true, true], 'preload() resolves with nothing');
      assert.deepEqual(r.afterPreload, { compile: 1, instantiate: 0, fetches: 1 });
      assert.equal(r.bad.rejected, true);
      assert.equal(r.bad.typed, true);
      assert.equal(r.bad.code, 'ERR_WASM_LOAD');
      assert.match(r.bad.message, /no-such-module\.wasm answered 404/);
    });

    test("the README's preload recipe: the page's <link rel=preload> fetches the .wasm, and preload() then reuses that response (one request; two in WebKit)", async () => {
      // The module's URL as the bundle finds it, from a page that loads it.
      const wasmUrl = await withPage(web, '/e2e/page.html', (page) =>
        page.evaluate(async () => {
          await (await import('/lib/openssl-psk-wasm.js')).preload();
          return performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm')).name;
        }, null),
      );
      const path = new URL(wasmUrl).pathname;
      requests.delete(path);
      const r = await withPage(web, `/e2e/preload-recipe.html?wasm=${encodeURIComponent(path)}`, (page) =>
        page.evaluate(async () => {
          const link = document.querySelector('link[rel=preload]');
          const lib = await import('/lib/openssl-psk-wasm.js');
          await lib.preload();
          const entries = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm'));
          return { href: link.href, entries: entries.map((e) => e.initiatorType) };
        }, null),
      );
      assert.equal(r.href, wasmUrl);
      // WebKit (WebKitGTK 2.50, as Safari) does not hand a preload to fetch(): it downloads the
      // module twice (with or without crossorigin, cacheable or not), as the README says.
      const expected = engine === 'webkit' ? 2 : 1;
      assert.equal(requests.get(path), expected, `the .wasm was requested ${requests.get(path)} times`);
      assert.deepEqual(r.entries, engine === 'webkit' ? ['link', 'fetch'] : ['link'], 'the fetches of the .wasm (resource timing)');
    });

    test('page to page through a relay: acceptTls in one, connectTls in the other; the relay sees no plaintext', async () => {
      const relay = await startRelay();
      const psk = { identity: 'page-to-page', keyHex: '6b'.repeat(32) };
      const url = `${relay.url}/room-1`;
      const serverPage = await open(web, '/e2e/page.html');
      const clientPage = await open(web, '/e2e/page.html');
      try {
        const serving = serverPage.evaluate(
          async ({ url, psk }) => {
            const lib = await import('/lib/openssl-psk-wasm.js');
            const { runEchoServer } = await import('/e2e/server-run.js');
            return runEchoServer(lib, { socket: new WebSocket(url), psk });
          },
          { url, psk },
        );
        const marker = 'PLAINTEXT-MARKER-';
        const result = await runClient(clientPage, { url, psk, payload: { kind: 'text', text: `${marker}${'x'.repeat(5000)}\n` } });
        assert.equal(result.error, undefined, JSON.stringify(result.error));
        assert.equal(result.mismatchAt, -1);
        assert.equal(result.info.protocol, 'TLSv1.3');
        assert.equal(await serving, result.sent);
        const seen = relay.forwarded();
        assert.ok(seen.length > 2 * result.sent);
        assert.equal(seen.includes(Buffer.from(marker)), false);
        assert.equal(seen.includes(Buffer.from('xxxxxxxxxxxxxxxx')), false);
      } finally {
        await serverPage.close();
        await clientPage.close();
        await relay.close();
      }
    });

    test('a page that does not read: unread data is capped (maxBufferedBytes), then ERR_BUFFER_FULL; read with for await over the socket', async () => {
      const keyHex = '5e'.repeat(32);
      const flood = await nodeTlsFloodServer({ key: Buffer.from(keyHex, 'hex'), bytes: 16 << 20 });
      const bridge = await startBridge({ allow: [`127.0.0.1:${flood.port}`] });
      try {
        let tunnelEnded = false;
        const outcome = await withPage(web, '/e2e/page.html', async (page) => {
          const result = await page.evaluate(
            async ({ url, keyHex }) => {
              const lib = await import('/lib/openssl-psk-wasm.js');
              const key = Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16));
              const socket = lib.connectTls(url, { psk: { identity: 'flood', key }, maxBufferedBytes: 4 << 20 });
              await socket.opened;
              // Nothing reads until the socket has failed: the browser WebSocket cannot be paused,
              // so the 16 MiB pile up past the cap whatever the machine's speed, and the socket
              // fails then, read or not.
              const ended = await socket.closed.then(
                () => 'closed',
                (error) => error.code,
              );
              if (ended !== 'ERR_BUFFER_FULL') return { ended };
              let read = 0;
              try {
                for await (const chunk of socket) read += chunk.length; // the README's way, in every engine
                return { read };
              } catch (error) {
                return { read, code: error.code, message: error.message };
              }
            },
            { url: `${bridge.url}/127.0.0.1:${flood.port}`, keyHex },
          );
          // The page closed its WebSocket (browsers refuse close code 1009 from a page; once
          // that threw and left it open, the flood still coming): the bridge's tunnel ends
          // while the page is still there.
          tunnelEnded = await waitUntil(() => bridge.connections === 0, 10_000).then(
            () => true,
            () => false,
          );
          return result;
        });
        assert.equal(outcome.code, 'ERR_BUFFER_FULL', JSON.stringify(outcome));
        assert.ok(outcome.read < 16 << 20);
        assert.ok(tunnelEnded, 'the WebSocket stayed open after ERR_BUFFER_FULL');
      } finally {
        await bridge.close();
        await flood.stop();
      }
    });

    test('examples/relay: two pages, acceptTls in one, connectTls in the other; the relay sees no plaintext', async () => {
      const forwarded = [];
      const demo = await startRelayDemo({ onForward: (bytes) => forwarded.push(bytes) });
      const auto = (url) => url.replace('?', '?auto=1&');
      const serverPage = await browser.newPage();
      const clientPage = await browser.newPage();
      try {
        await serverPage.goto(auto(demo.serverPage));
        await clientPage.goto(auto(demo.clientPage));
        const result = (page) =>
          page.evaluate(async () => {
            for (let i = 0; i < 600 && !document.querySelector('#result[data-done]'); i++) await new Promise((r) => setTimeout(r, 50));
            const node = document.querySelector('#result[data-done]');
            return node ? JSON.parse(node.textContent) : { ok: false, error: 'no result within 30 s' };
          }, null);
        const client = await result(clientPage);
        const server = await result(serverPage);
        assert.equal(client.ok, true, JSON.stringify(client));
        assert.equal(client.received, 'pong for "ping from the client page"');
        assert.equal(client.info.protocol, 'TLSv1.3');
        assert.equal(server.ok, true, JSON.stringify(server));
        assert.ok(server.log.includes('< ping from the client page'));
        const seen = Buffer.concat(forwarded);
        assert.ok(seen.length > 200);
        assert.equal(seen.includes(Buffer.from('ping from')), false);
        assert.equal(seen.includes(Buffer.from('pong')), false);
      } finally {
        await serverPage.close();
        await clientPage.close();
        await demo.close();
      }
    });
  });

  describe(`${engine}: the TLS worker, under a page CSP that forbids WebAssembly`, () => {
    /** Runs one of worker-run.js's functions in a strict page with a test worker on `streams`. */
    const inWorkerPage = (name, args, { streams = 'port', shipped = false } = {}) =>
      withPage(strict, '/e2e/worker-page.html', (page) =>
        page.evaluate(
          async ({ name, args, streams, shipped }) => {
            const { createTlsWorker } = await import('/lib/worker.js');
            const run = await import('/e2e/worker-run.js');
            const start = (options = {}) => createTlsWorker({ streams, ...(shipped ? {} : { workerUrl: '/test-dist/tls-worker-debug.js' }), ...options });
            return name === 'rawMessages' || name === 'portFlood' ? run[name](start, Worker, args) : run[name](start, args);
          },
          { name, args, streams, shipped },
        ),
      );

    test('the page itself may not instantiate WebAssembly (its CSP has no wasm-unsafe-eval)', async () => {
      const outcome = await withPage(strict, '/e2e/worker-page.html', (page) =>
        page.evaluate(async () => {
          const bytes = await (await fetch('/lib/openssl-psk.wasm')).arrayBuffer();
          // Chromium and Firefox refuse to compile; WebKit compiles and refuses to instantiate.
          return WebAssembly.instantiate(bytes, {}).then(
            () => 'instantiated',
            (e) => e.name,
          );
        }, null),
      );
      assert.notEqual(outcome, 'instantiated');
      assert.ok(['CompileError', 'LinkError', 'RuntimeError', 'EvalError', 'SecurityError', 'TypeError'].includes(outcome), outcome);
    });

    test('a worker whose own policy forbids WebAssembly: createTlsWorker() rejects at once with a typed ERR_WASM_LOAD', async () => {
      const outcome = await withPage(strict, '/e2e/worker-page.html', (page) =>
        page.evaluate(async () => {
          const { createTlsWorker } = await import('/strict/worker.js');
          return createTlsWorker().then(
            (worker) => (worker.terminate(), 'started'),
            (error) => `${error.name} ${error.code}`,
          );
        }, null),
      );
      assert.equal(outcome, 'TlsError ERR_WASM_LOAD');
    });

    test(`canTransferStreams() is ${engine !== 'webkit'}; streams: 'transfer' ${engine === 'webkit' ? 'is a typed error here' : 'works here'}`, async () => {
      const outcome = await withPage(strict, '/e2e/worker-page.html', (page) =>
        page.evaluate(async () => {
          const { canTransferStreams, createTlsWorker } = await import('/lib/worker.js');
          const transferable = canTransferStreams();
          const worker = await createTlsWorker({ streams: 'transfer' });
          try {
            await worker.importPsk('x', new Uint8Array(32).buffer);
            const socket = worker.connect('ws://127.0.0.1:1/', { identity: 'x' });
            const error = await socket.opened.then(
              () => null,
              (e) => e,
            );
            return { transferable, name: error?.name, code: error?.code, cause: error?.cause?.name ?? null };
          } finally {
            worker.terminate();
          }
        }, null),
      );
      assert.equal(outcome.transferable, engine !== 'webkit');
      assert.equal(outcome.name, 'TlsError');
      if (engine === 'webkit') {
        assert.equal(outcome.code, 'ERR_INVALID_ARGUMENT');
        assert.equal(outcome.cause, 'DataCloneError');
      } else {
        assert.equal(outcome.code, 'ERR_TRANSPORT'); // transferred, then no WebSocket at port 1
      }
    });

    for (const streams of STREAM_PATHS[engine]) {
      describe(`streams: ${streams}`, () => {
        for (const [name, args, options] of [
          ['TLS 1.3', ['-tls1_3'], {}],
          ['TLS 1.2', ['-tls1_2', '-cipher', 'ECDHE-PSK-CHACHA20-POLY1305'], { maxVersion: 'TLSv1.2' }],
        ]) {
          test(`${name} PSK session from a worker to openssl s_server; the key never reaches the page`, async () => {
            const key = random(32);
            const peer = await serverBehindBridge([...args, ...pskArgs('web-1', key)]);
            try {
              const r = await inWorkerPage('workerSession', { url: peer.url, identity: 'web-1', keyHex: hex(key), options }, { streams });
              checkWorkerSession(r, name === 'TLS 1.3' ? 'TLSv1.3' : 'TLSv1.2');
            } finally {
              await peer.stop();
            }
          });
        }

        for (const how of ['terminate', 'crash']) {
          test(`two workers with different keys at once; one ${how === 'crash' ? 'crashes' : 'is terminated'}, the other's session goes on`, async () => {
            const keyA = random(32);
            const keyB = random(32);
            const peerA = await serverBehindBridge(['-tls1_3', ...pskArgs('a', keyA)]);
            const peerB = await serverBehindBridge(['-tls1_3', ...pskArgs('b', keyB)]);
            try {
              const r = await inWorkerPage(
                'twoWorkers',
                { a: { url: peerA.url, identity: 'a', keyHex: hex(keyA) }, b: { url: peerB.url, identity: 'b', keyHex: hex(keyB) }, how },
                { streams },
              );
              checkTwoWorkers(r);
            } finally {
              await peerA.stop();
              await peerB.stop();
            }
          });
        }

        test('2 MiB echoed byte for byte both ways at once; the caller keeps its buffers', async () => {
          const key = random(32);
          const server = await nodeTlsEchoServer({ identity: 'bulk', key });
          const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
          try {
            const r = await inWorkerPage(
              'workerBulkEcho',
              { url: `${bridge.url}/127.0.0.1:${server.port}`, identity: 'bulk', keyHex: hex(key), bytes: 2 << 20 },
              { streams },
            );
            checkBulkEcho(r, 2 << 20);
          } finally {
            await bridge.close();
            await server.stop();
          }
        });
      });
    }

    test('accept({ asyncLookup }): a Node client through a relay; the worker looks its identity up as the handshake asks', async () => {
      const relay = await startRelay();
      const key = random(32);
      const url = `${relay.url}/async-accept`;
      try {
        const serving = inWorkerPage('asyncAccept', { url, identity: 'web-async', keyHex: hex(key) });
        const client = connectTls(url, { psk: { identity: 'web-async', key } });
        const info = await client.opened;
        assert.equal(info.protocol, 'TLSv1.3');
        const writer = client.writable.getWriter();
        await writer.write(new TextEncoder().encode('looked up'));
        const reader = client.readable.getReader();
        const echoed = await reader.read();
        reader.releaseLock();
        writer.releaseLock();
        await client.close().catch(() => {});
        const r = await serving;
        assert.equal(r.error, undefined, JSON.stringify(r.error));
        assert.equal(new TextDecoder().decode(echoed.value), 'looked up');
        assert.deepEqual([r.info.protocol, r.echoed, r.ended], ['TLSv1.3', 9, true]);
      } finally {
        await relay.close();
      }
    });

    test('a PSK derived from a passphrase in the worker (PBKDF2 in WebCrypto)', async () => {
      const salt = random(16);
      const key = await pbkdf2('a passphrase', salt, 10000);
      const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('pass', key)]);
      try {
        const r = await inWorkerPage(
          'passphraseSession',
          { url: peer.url, identity: 'pass', passphrase: 'a passphrase', saltHex: hex(salt), iterations: 10000 },
          { shipped: true },
        );
        assert.equal(r.error, undefined, JSON.stringify(r.error));
        assert.equal(r.echoed, 'devired\n');
      } finally {
        await peer.stop();
      }
    });

    test('a compromised page: raw get/set/construct messages and malformed calls are refused; Object.prototype untouched; the worker still works', async () => {
      const key = random(32);
      const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('raw', key)]);
      try {
        checkRawMessages(await inWorkerPage('rawMessages', { url: peer.url, identity: 'raw', keyHex: hex(key) }), { testWorker: true });
        checkRawMessages(await inWorkerPage('rawMessages', { url: peer.url, identity: 'raw', keyHex: hex(key), testWorker: false }, { shipped: true }), {
          testWorker: false,
        });
      } finally {
        await peer.stop();
      }
    });

    test('a compromised page: chunks on a socket port without credit fail that socket, typed; a neighbour socket goes on', async () => {
      const key = random(32);
      const server = await nodeTlsEchoServer({ identity: 'flood', key });
      const silent = await silentServer();
      const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`, `127.0.0.1:${silent.port}`] });
      try {
        const r = await inWorkerPage(
          'portFlood',
          { url: `${bridge.url}/127.0.0.1:${server.port}`, silentUrl: `${bridge.url}/127.0.0.1:${silent.port}`, identity: 'flood', keyHex: hex(key) },
          { streams: 'port' },
        );
        checkPortFlood(r);
      } finally {
        await bridge.close();
        await silent.stop();
        await server.stop();
      }
    });
  });

  vaultTests(engine, () => browser);

  describe(`${engine}: pskFetch, HTTPS-PSK to a device's API`, () => {
    /** The device API behind a bridge; `run(page, bridgeTarget, base)` evaluates in a page. */
    async function withDevice(run) {
      const key = random(32);
      const device = await startDevice({ identity: 'device-1', key, handler: deviceApi });
      const bridge = await startBridge({ allow: [`127.0.0.1:${device.port}`] });
      try {
        const out = await run({ bridgeUrl: bridge.url, base: `https://127.0.0.1:${device.port}`, keyHex: hex(key) });
        return { out, accepted: device.accepted() };
      } finally {
        await bridge.close();
        await device.stop();
      }
    }

    function checkFetch({ out, accepted }) {
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.deepEqual(out.systems, { status: 200, type: 'application/json', count: 1 });
      assert.deepEqual(out.post, { method: 'POST', body: 'from the page', length: '13' });
      assert.deepEqual(out.streamed, { body: 'streamed request body', te: 'chunked' });
      assert.deepEqual(out.chunked, { length: 1048576, intact: true });
      assert.equal(out.redirect.status, 200);
      assert.equal(out.redirect.redirected, true);
      assert.match(out.redirect.url, /\/redfish\/v1$/);
      assert.equal(out.redirect.name, 'Root Service');
      assert.equal(out.abort, 'AbortError');
      assert.equal(out.offOrigin, 'ERR_HTTP_REDIRECT');
      assert.equal(accepted, 1, 'every request on one kept-alive TLS connection');
    }

    test('from a page, with the engine in the page: JSON, bodies both ways, chunked, a redirect, abort', async () => {
      checkFetch(
        await withDevice(({ bridgeUrl, base, keyHex }) =>
          withPage(web, '/e2e/page.html', (page) =>
            page.evaluate(
              async ({ bridgeUrl, base, keyHex }) => {
                const { connectTls } = await import('/lib/openssl-psk-wasm.js');
                const { createPskFetch } = await import('/lib/fetch.js');
                const { runFetch } = await import('/e2e/fetch-run.js');
                const key = Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16));
                return runFetch(createPskFetch, (origin, hostPort) => connectTls(`${bridgeUrl}/${hostPort}`, { psk: { identity: 'device-1', key } }), base);
              },
              { bridgeUrl, base, keyHex },
            ),
          ),
        ),
      );
    });

    test('from a page whose CSP forbids WebAssembly, through the TLS worker (the key stays there)', async () => {
      checkFetch(
        await withDevice(({ bridgeUrl, base, keyHex }) =>
          withPage(strict, '/e2e/worker-page.html', (page) =>
            page.evaluate(
              async ({ bridgeUrl, base, keyHex }) => {
                const { createTlsWorker } = await import('/lib/worker.js');
                const { createPskFetch } = await import('/lib/fetch.js');
                const { runFetch } = await import('/e2e/fetch-run.js');
                const worker = await createTlsWorker();
                try {
                  await worker.importPsk('device-1', Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16)).buffer);
                  return await runFetch(createPskFetch, (origin, hostPort) => worker.connect(`${bridgeUrl}/${hostPort}`, { identity: 'device-1' }), base);
                } finally {
                  worker.terminate();
                }
              },
              { bridgeUrl, base, keyHex },
            ),
          ),
        ),
      );
    });
  });

  describe(`${engine}: MQTT.js over TLS-PSK to mosquitto (psk_file)`, () => {
    test('engine in the page: QoS 0/1/2, a native mosquitto_sub receives, reconnection after the broker restarts', async () => {
      const setup = await mqttSetup(`${engine}-page`);
      try {
        const out = await withPage(web, '/e2e/page.html', (page) =>
          setup.runWithRestart(() =>
            page.evaluate(
              async ({ url, keyHex, topic }) => {
                const { default: mqtt } = await import('/vendor/mqtt.esm.js');
                const { connectTls } = await import('/lib/openssl-psk-wasm.js');
                const { mqttStreamBuilder } = await import('/lib/mqtt.js');
                const { runMqtt } = await import('/e2e/mqtt-run.js');
                const key = Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16));
                const builder = mqttStreamBuilder(() => connectTls(url, { psk: { identity: 'client-1', key } }));
                return runMqtt(mqtt.MqttClient, builder, { topic, clientId: `${topic}-1` });
              },
              { url: setup.url, keyHex: hex(setup.clientKey), topic: `${engine}-page` },
            ),
          ),
        );
        checkMqttRun(out);
      } finally {
        await setup.stop();
      }
    });

    test('through the TLS worker from a page whose CSP forbids WebAssembly: the same, reconnection included', async () => {
      const setup = await mqttSetup(`${engine}-worker`);
      try {
        const out = await withPage(strict, '/e2e/worker-page.html', (page) =>
          setup.runWithRestart(() =>
            page.evaluate(
              async ({ url, keyHex, topic }) => {
                const { default: mqtt } = await import('/vendor/mqtt.esm.js');
                const { createTlsWorker } = await import('/lib/worker.js');
                const { mqttStreamBuilder } = await import('/lib/mqtt.js');
                const { runMqtt } = await import('/e2e/mqtt-run.js');
                const worker = await createTlsWorker();
                try {
                  await worker.importPsk('client-1', Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16)).buffer);
                  const builder = mqttStreamBuilder(() => worker.connect(url, { identity: 'client-1' }));
                  // This page's CSP has no `worker-src blob:`: MQTT.js's default timers run in a blob:
                  // worker, and WebKit then never connects, silently. README says to pass this.
                  return await runMqtt(mqtt.MqttClient, builder, { topic, clientId: `${topic}-1`, options: { timerVariant: 'native' } });
                } finally {
                  worker.terminate();
                }
              },
              { url: setup.url, keyHex: hex(setup.clientKey), topic: `${engine}-worker` },
            ),
          ),
        );
        checkMqttRun(out);
      } finally {
        await setup.stop();
      }
    });
  });

  describe(`${engine}: the handshake as a ladder diagram (examples/browser/ladder.js)`, () => {
    /** The drawn diagram, read back from the DOM. */
    const readLadder = () => {
      const ladder = document.getElementById('ladder');
      return {
        caption: ladder.querySelector('.ladder-caption')?.textContent ?? null,
        steps: [...ladder.querySelectorAll('.ladder-step')].map((g) => `${g.dataset.direction === 'to-server' ? '>' : '<'} ${g.dataset.name}`),
        labels: [...ladder.querySelectorAll('.ladder-step text:first-of-type')].map((t) => t.textContent),
        stop: ladder.querySelector('.ladder-stop')?.dataset.code ?? null,
        error: ladder.querySelector('.ladder-error')?.textContent ?? null,
      };
    };

    test('a TLS 1.3 handshake with a HelloRetryRequest, engine in the page: every message in place, the session above', async () => {
      const key = random(32);
      const peer = await serverBehindBridge(['-tls1_3', '-groups', 'P-256', ...pskArgs('ladder', key)]);
      try {
        const drawn = await withPage(web, '/e2e/page.html', (page) =>
          page.evaluate(
            async ({ url, keyHex, read }) => {
              const { connectTls } = await import('/lib/openssl-psk-wasm.js');
              const { drawLadder } = await import('/examples/ladder.js');
              const key = Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16));
              const socket = connectTls(url, { psk: { identity: 'ladder', key }, groups: 'X25519:P-256', traceHandshake: true });
              const info = await socket.opened;
              await socket.close();
              document.body.insertAdjacentHTML('beforeend', '<div id="ladder"></div>');
              drawLadder(document.getElementById('ladder'), { steps: info.handshake, info, identity: 'ladder' });
              return new Function(`return (${read})()`)();
            },
            { url: peer.url, keyHex: hex(key), read: readLadder.toString() },
          ),
        );
        assert.deepEqual(
          drawn.steps.filter((s) => !s.endsWith('ChangeCipherSpec')).slice(0, 6),
          ['> ClientHello', '< HelloRetryRequest', '> ClientHello', '< ServerHello', '< EncryptedExtensions', '< Finished'],
          drawn.steps.join(', '),
        );
        assert.ok(drawn.steps.includes('> Finished'));
        assert.match(drawn.caption, /^TLSv1\.3 · TLS_\w+ · group P-256 · PSK identity "ladder" · PSK accepted · early data not accepted$/);
        assert.equal(drawn.stop, null);
      } finally {
        await peer.stop();
      }
    });

    test('a wrong key through the TLS worker: the diagram stops at the alert, with the typed error', async () => {
      const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('ladder', random(32))]);
      try {
        const drawn = await withPage(web, '/e2e/worker-page.html', (page) =>
          page.evaluate(
            async ({ url, keyHex, read }) => {
              const { createTlsWorker } = await import('/lib/worker.js');
              const { drawLadder } = await import('/examples/ladder.js');
              const worker = await createTlsWorker();
              try {
                await worker.importPsk('ladder', Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16)).buffer);
                const error = await worker.connect(url, { identity: 'ladder', traceHandshake: true }).opened.then(
                  () => null,
                  (e) => e,
                );
                document.body.insertAdjacentHTML('beforeend', '<div id="ladder"></div>');
                drawLadder(document.getElementById('ladder'), { steps: error?.handshake ?? [], error, identity: 'ladder' });
                return new Function(`return (${read})()`)();
              } finally {
                worker.terminate();
              }
            },
            { url: peer.url, keyHex: hex(random(32)), read: readLadder.toString() },
          ),
        );
        assert.equal(drawn.steps[0], '> ClientHello');
        assert.ok(
          drawn.labels.some((l) => /^Alert: \w+ \(fatal\)$/.test(l)),
          drawn.labels.join(', '),
        );
        assert.equal(drawn.stop, 'ERR_PSK_WRONG_KEY');
        assert.match(drawn.error, /^ERR_PSK_WRONG_KEY: /);
        assert.equal(drawn.caption, 'handshake failed');
      } finally {
        await peer.stop();
      }
    });
  });

  describe(`${engine}: the package served from a CDN (another origin)`, () => {
    test("the worker script from the page's origin, the .wasm from the CDN with CORS: page and worker echo; without CORS a typed ERR_WASM_LOAD at once; a cross-origin worker script is refused", async () => {
      const key = random(32);
      const echo = await nodeTlsEchoServer({ identity: 'cdn', key });
      const bridge = await startBridge({ allow: [`127.0.0.1:${echo.port}`] });
      const cdn = await serveStatic({ mounts: { '/pkg/': here('../../dist/browser/') }, headers: { 'access-control-allow-origin': '*' } });
      const noCors = await serveStatic({ mounts: { '/pkg/': here('../../dist/browser/') } });
      try {
        const r = await withPage(web, '/e2e/page.html', (page) =>
          page.evaluate(
            async ({ url, keyHex, cdn, noCors }) => {
              const { loadOpenSSL, connectTls } = await import('/lib/openssl-psk-wasm.js');
              const { createTlsWorker } = await import('/lib/worker.js');
              const key = Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16));
              const echo = async (socket, line) => {
                await socket.opened;
                const writer = socket.writable.getWriter();
                await writer.write(new TextEncoder().encode(line));
                const { value } = await socket.readable.getReader().read();
                await socket.close();
                return new TextDecoder().decode(value);
              };
              const out = {};
              const openssl = await loadOpenSSL({ wasmUrl: `${cdn}/pkg/openssl-psk.wasm` });
              out.page = await echo(connectTls(url, { psk: { identity: 'cdn', key }, openssl }), 'page');
              const worker = await createTlsWorker({ workerUrl: '/lib/tls-worker.js', wasmUrl: `${cdn}/pkg/openssl-psk.wasm` });
              await worker.importPsk('cdn', key.slice().buffer);
              out.worker = await echo(worker.connect(url, { identity: 'cdn' }), 'worker');
              worker.terminate();
              out.noCors = await createTlsWorker({ workerUrl: '/lib/tls-worker.js', wasmUrl: `${noCors}/pkg/openssl-psk.wasm` }).then(
                (w) => (w.terminate(), 'started'),
                (e) => `${e.code}: ${e.message}`,
              );
              out.crossOriginScript = await createTlsWorker({ workerUrl: `${cdn}/pkg/tls-worker.js` }).then(
                (w) => (w.terminate(), 'started'),
                (e) => e.code,
              );
              return out;
            },
            { url: `${bridge.url}/127.0.0.1:${echo.port}`, keyHex: hex(key), cdn: cdn.url, noCors: noCors.url },
          ),
        );
        assert.equal(r.page, 'page');
        assert.equal(r.worker, 'worker');
        assert.match(r.noCors, /^ERR_WASM_LOAD: .*\/pkg\/openssl-psk\.wasm could not be fetched \(network, CORS/);
        assert.ok(['ERR_INVALID_ARGUMENT', 'ERR_WORKER_GONE'].includes(r.crossOriginScript), r.crossOriginScript);
      } finally {
        await bridge.close();
        await echo.stop();
        await cdn.close();
        await noCors.close();
      }
    });
  });
}
