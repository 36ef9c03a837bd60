/**
 * Where the .wasm is, relative to this module. The browser bundle (scripts/bundle.mjs)
 * replaces this file so that the URL points next to the bundle; both are written as
 * `new URL('…', import.meta.url)`, which Vite, webpack and esbuild recognise as an asset.
 */
export const defaultWasmUrl = (): URL => new URL('../../wasm/dist/openssl-psk.wasm', import.meta.url);
