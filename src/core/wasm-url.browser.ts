/**
 * wasm-url.ts for the browser bundle (scripts/bundle.mjs): the .wasm beside the bundle, written
 * as the `new URL('…', import.meta.url)` that Vite, webpack and esbuild's users' bundlers
 * recognise as an asset and emit.
 */
export const defaultWasmUrl = (): URL => new URL('./openssl-psk.wasm', import.meta.url);
