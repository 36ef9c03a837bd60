/**
 * Where the full build's .wasm is, relative to this module (lib/core/): dist/browser/, beside
 * the PSK build's (wasm-url.ts). The browser bundle uses wasm-url-full.browser.ts.
 */
export const fullWasmUrl = (): URL => new URL('../../dist/browser/openssl-psk-full.wasm', import.meta.url);
