/**
 * openssl-psk-wasm/full: the same API as `openssl-psk-wasm` on the full build of the module
 * (openssl-psk-full.wasm), which adds certificates to the PSK build: certificate-authenticated
 * handshakes, the fallback from an unknown PSK identity to a certificate, RSA and ECDSA keys.
 * An application imports one of the two; its bundle then holds only that build's .wasm.
 *
 * @module openssl-psk-wasm/full
 */
export { loadOpenSSL, compileOpenSSL } from './tls/full-build.js';
export type { LoadOptions } from './tls/loader.js';
export { preload } from './tls/preload-full.js';
export { connectTls, acceptTls } from './socket/connect-full.js';
export * from './shared-exports.js';
