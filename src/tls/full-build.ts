/**
 * The full build (wasm/dist/openssl-psk-full.wasm): what `openssl-psk-wasm/full` and the
 * command line load. The PSK build's API and suites, plus certificates: certificate-authenticated
 * handshakes, the fallback from an unknown PSK identity to a certificate, RSA and ECDSA keys.
 */
import createOpenSSLModule from '../../wasm/dist/openssl-psk-full.mjs';
import { fullWasmUrl } from '../core/wasm-url-full.js';
import { compileBuild, loadBuild, type LoadOptions, type ModuleBuild } from './loader.js';
import type { OpenSSL } from './openssl.js';

/** @internal */
export const fullBuild: ModuleBuild = { glue: createOpenSSLModule, wasmUrl: fullWasmUrl, certificates: true };

/**
 * Compiles the full build's .wasm (openssl-psk-full.wasm). With a URL (or the default) the
 * result is cached, so later loadOpenSSL() calls only instantiate.
 */
export function compileOpenSSL(options: Omit<LoadOptions, 'module'> = {}): Promise<WebAssembly.Module> {
  return compileBuild(fullBuild, options);
}

/**
 * Loads a new, independent OpenSSL instance of the full build: certificates as well as PSKs.
 *
 * @example
 * ```ts
 * import { loadOpenSSL } from 'openssl-psk-wasm/full';
 *
 * const openssl = await loadOpenSSL(); // or loadOpenSSL({ wasmUrl: '/static/openssl-psk-full.wasm' })
 * const ctx = openssl.createContext({ role: 'client', ca: '-----BEGIN CERTIFICATE-----\n…' }); // your CA, PEM
 * ctx.free();
 * ```
 */
export function loadOpenSSL(options: LoadOptions = {}): Promise<OpenSSL> {
  return loadBuild(fullBuild, options);
}
