/** preload() of the full build: what `openssl-psk-wasm/full` exports (see preload.ts). */
import { fullBuild } from './full-build.js';
import { preloadBuild, type LoadOptions } from './loader.js';

/**
 * Starts fetching and compiling the full build's .wasm (openssl-psk-full.wasm), once per URL:
 * later calls, connectTls() and loadOpenSSL() of `openssl-psk-wasm/full` share the same
 * compilation. Resolves when it is compiled; rejects with an ERR_WASM_LOAD TlsError if it cannot
 * be, and a connection made later reports the same error, so `void preload()` is safe.
 *
 * @example At page start, before the application connects
 * ```ts
 * import { preload } from 'openssl-psk-wasm/full';
 *
 * void preload(); // openssl-psk-full.wasm downloads and compiles while the page does other things
 * ```
 */
export function preload(options: Pick<LoadOptions, 'wasmUrl'> = {}): Promise<void> {
  return preloadBuild(fullBuild, options);
}
