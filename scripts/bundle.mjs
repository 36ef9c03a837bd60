#!/usr/bin/env node
// Browser bundles with esbuild: dist/browser/openssl-psk-wasm.js, an ES module with the glue
// inside and the .wasm beside it, found at run time by new URL('./openssl-psk.wasm',
// import.meta.url). Node-only imports (node:fs, ws) stay out: browsers never reach them.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}/dist/browser`;

/** The .wasm sits next to the bundle, not at ../wasm/dist/. */
const wasmBesideBundle = {
  name: 'wasm-beside-bundle',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]wasm-url\.ts$/ }, () => ({
      contents: "export const defaultWasmUrl = () => new URL('./openssl-psk.wasm', import.meta.url);",
      loader: 'ts',
    }));
  },
};

mkdirSync(out, { recursive: true });
await build({
  entryPoints: { 'openssl-psk-wasm': `${root}/src/index.ts` },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  external: ['node:*', 'ws'],
  plugins: [wasmBesideBundle],
  logLevel: 'warning',
});
copyFileSync(`${root}/wasm/dist/openssl-psk.wasm`, `${out}/openssl-psk.wasm`);
console.log('[bundle] dist/browser/openssl-psk-wasm.js and openssl-psk.wasm');
