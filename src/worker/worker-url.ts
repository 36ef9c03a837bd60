/**
 * Where the browser's TLS worker script is, relative to this module. The browser bundle
 * (scripts/bundle.mjs) replaces this file, since there the script is dist/browser/tls-worker.js
 * beside worker.js; like wasm-url.ts, written as `new URL('…', import.meta.url)` for bundlers.
 */
export const defaultWorkerUrl = (): URL => new URL('./browser-tls-worker.js', import.meta.url);
