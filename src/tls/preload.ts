/**
 * preload(): start fetching and compiling the module now, so that the first connectTls() (or
 * loadOpenSSL()) finds it compiled. Compiling has no side effect: no instance, no memory, no
 * randomness drawn; importing the package does nothing at all until something is called.
 * `openssl-psk-wasm` preloads the PSK build, `openssl-psk-wasm/full` the full build.
 */
import { preloadBuild, type LoadOptions } from './loader.js';
import { pskBuild } from './psk-build.js';

/**
 * Starts fetching and compiling the .wasm (once per URL: later calls, connectTls() and
 * loadOpenSSL() share the same compilation). Resolves when it is compiled; rejects with an
 * ERR_WASM_LOAD TlsError if it cannot be, and a connection made later reports the same error,
 * so `void preload()` is safe (the rejection is never unhandled).
 *
 * @example At page start, before the application connects
 * ```ts
 * import { connectTls, preload } from 'openssl-psk-wasm';
 *
 * void preload(); // the module downloads and compiles while the page does other things
 * // … later, when the user asks for it:
 * const socket = connectTls('ws://127.0.0.1:8080/10.0.0.7:4433', { psk: { identity: 'dev-1', key } });
 * await socket.opened;
 * await socket.close();
 * ```
 */
export function preload(options: Pick<LoadOptions, 'wasmUrl'> = {}): Promise<void> {
  return preloadBuild(pskBuild, options);
}
