/**
 * openssl-psk-wasm: OpenSSL 1.1.1w in WebAssembly, speaking PSK TLS (TLS 1.2 PSK suites and
 * TLS 1.3 external PSKs with early data) through a sans-IO engine.
 *
 * @module openssl-psk-wasm
 */
export { loadOpenSSL, compileOpenSSL } from './tls/psk-build.js';
export type { LoadOptions } from './tls/loader.js';
export { preload } from './tls/preload.js';
export { connectTls, acceptTls } from './socket/connect.js';
export * from './shared-exports.js';
