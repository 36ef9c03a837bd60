/**
 * wasm-url-full.ts for the browser bundle (scripts/bundle.mjs): the full build's .wasm beside
 * the bundle, as a `new URL('…', import.meta.url)` that bundlers emit; only the full entry
 * point's modules reach this one, so an application of the PSK build never emits it.
 */
export const fullWasmUrl = (): URL => new URL('./openssl-psk-full.wasm', import.meta.url);
