#!/usr/bin/env node
// Browser bundles with esbuild, in dist/browser/:
//   openssl-psk-wasm.js  the library (ES module) on the PSK build, the glue inside, the .wasm
//                        beside it, found at run time by new URL('./openssl-psk.wasm', import.meta.url)
//   full.js              the same API on the full build (openssl-psk-full.wasm, with certificates);
//                        only its modules name that .wasm, so an app's bundler emits one of the two
//   worker.js            createTlsWorker() for pages: starts tls-worker.js from beside itself
//   fetch.js             createPskFetch(): fetch() over TLS-PSK
//   mqtt.js              mqttStreamBuilder(): the MQTT.js client over a TLS-PSK socket
//   tls-worker.js        the module worker that runs the TLS engine and holds the keys
//   vault.html, vault.js the key vault's page and script, hosted on an origin of its own
//   vault-worker.js      the vault's worker (and a same-origin store's): tls-worker.js plus sealed keys in IndexedDB
// The page's entries share their code through chunks (chunk-*.js), so that one TlsError class
// (instanceof) and one engine serve them all; the worker is one file of its own.
// Nothing in them names a Node module (node:*, ws): see browserVersions.
// With --test, also dist/test/tls-worker-debug.js and vault-worker-debug.js: the workers with the
// test-only methods of test/workers/debug-methods.js, the vault's able to make IndexedDB fail
// (never shipped: the package's files list has dist/browser only).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}/dist/browser`;

/**
 * The browser's own versions of the modules that differ there: a module `x.ts` with a sibling
 * `x.browser.ts` is replaced by it (the .wasm and the worker beside the bundle, no Node module
 * named anywhere: src/core/wasm-url, src/core/read-file, src/socket/node-websocket,
 * src/worker/platform).
 */
const browserVersions = {
  name: 'browser-versions',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const candidate = join(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      return args.path.endsWith('.js') && existsSync(candidate) ? { path: candidate } : undefined;
    });
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  plugins: [browserVersions],
  logLevel: 'warning',
};

rmSync(out, { recursive: true, force: true }); // no chunk of an earlier build left beside these
mkdirSync(out, { recursive: true });
await build({
  ...common,
  entryPoints: {
    'openssl-psk-wasm': `${root}/src/index.ts`,
    full: `${root}/src/full.ts`,
    worker: `${root}/src/worker/index.ts`,
    fetch: `${root}/src/fetch/index.ts`,
    mqtt: `${root}/src/mqtt/index.ts`,
  },
  splitting: true,
  chunkNames: 'chunk-[hash]',
  outdir: out,
});
await build({ ...common, entryPoints: { 'tls-worker': `${root}/src/worker/browser-tls-worker.ts` }, outdir: out });
await build({ ...common, entryPoints: { 'vault-worker': `${root}/src/vault/vault-worker-main.ts` }, outdir: out });
await build({ ...common, entryPoints: { vault: `${root}/src/vault/vault-page.ts` }, outdir: out });
copyFileSync(`${root}/src/vault/vault.html`, `${out}/vault.html`);
copyFileSync(`${root}/wasm/dist/openssl-psk.wasm`, `${out}/openssl-psk.wasm`);
copyFileSync(`${root}/wasm/dist/openssl-psk-full.wasm`, `${out}/openssl-psk-full.wasm`);
console.log(
  '[bundle] dist/browser/: openssl-psk-wasm.js, full.js, worker.js, fetch.js, mqtt.js, tls-worker.js, vault.html, vault.js, vault-worker.js, openssl-psk.wasm, openssl-psk-full.wasm',
);

if (process.argv.includes('--test')) {
  const testOut = `${root}/dist/test`;
  mkdirSync(testOut, { recursive: true });
  await build({ ...common, entryPoints: { 'tls-worker-debug': `${root}/test/workers/browser-debug-tls-worker.js` }, outdir: testOut });
  await build({ ...common, entryPoints: { 'vault-worker-debug': `${root}/test/workers/browser-debug-vault-worker.js` }, outdir: testOut });
  copyFileSync(`${root}/wasm/dist/openssl-psk.wasm`, `${testOut}/openssl-psk.wasm`);
  console.log('[bundle] dist/test/: tls-worker-debug.js, vault-worker-debug.js (test-only methods, IndexedDB failures on request), openssl-psk.wasm');
}
