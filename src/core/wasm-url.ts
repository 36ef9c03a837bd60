/**
 * Where the .wasm is, relative to this module (lib/core/): the package ships it once, in
 * dist/browser/ beside the browser bundle, and Node loads that same file. The browser bundle
 * uses wasm-url.browser.ts (scripts/bundle.mjs): the .wasm beside the bundle, as a
 * `new URL('…', import.meta.url)` that Vite, webpack and esbuild's users recognise as an asset.
 */
export const defaultWasmUrl = (): URL => new URL('../../dist/browser/openssl-psk.wasm', import.meta.url);
