/**
 * The PSK build (wasm/dist/openssl-psk.wasm): what `openssl-psk-wasm`, its worker, fetch and
 * mqtt entry points load. TLS 1.2 PSK/ECDHE-PSK/DHE-PSK and TLS 1.3 external PSKs; no
 * certificates (the full build, full-build.ts, has them).
 */
import createOpenSSLModule from '../../wasm/dist/openssl-psk.mjs';
import { defaultWasmUrl } from '../core/wasm-url.js';
import { compileBuild, loadBuild, type LoadOptions, type ModuleBuild } from './loader.js';
import type { OpenSSL } from './openssl.js';

/** @internal */
export const pskBuild: ModuleBuild = { glue: createOpenSSLModule, wasmUrl: defaultWasmUrl, certificates: false };

/**
 * Compiles the .wasm. With a URL (or the default) the result is cached, so later
 * loadOpenSSL() calls only instantiate. Pass the result as `module` to share it yourself.
 */
export function compileOpenSSL(options: Omit<LoadOptions, 'module'> = {}): Promise<WebAssembly.Module> {
  return compileBuild(pskBuild, options);
}

/**
 * Loads a new, independent OpenSSL instance of the PSK build (`openssl-psk-wasm/full` loads
 * the full build, with certificates). connectTls() and acceptTls() load a shared one by
 * themselves; load your own for the sans-IO engine, or to say where the .wasm is.
 *
 * @example
 * ```ts
 * import { connectTls, loadOpenSSL } from 'openssl-psk-wasm';
 *
 * const openssl = await loadOpenSSL({ wasmUrl: '/static/openssl-psk.wasm' }); // or loadOpenSSL(): the package's
 * console.log(openssl.version); // 'OpenSSL 1.1.1w  11 Sep 2023'
 * const socket = connectTls('ws://127.0.0.1:8080/10.0.0.7:4433', { psk: { identity: 'dev-1', key }, openssl });
 * await socket.opened;
 * ```
 */
export function loadOpenSSL(options: LoadOptions = {}): Promise<OpenSSL> {
  return loadBuild(pskBuild, options);
}
