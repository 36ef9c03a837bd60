/**
 * loadOpenSSL(): fetch or read the .wasm, compile it (once per URL), instantiate the module,
 * wire the shim's imports, and seed OpenSSL from the platform CSPRNG. The same code runs in
 * Node 20, browsers and workers; the emscripten glue never loads anything by itself.
 */
import createOpenSSLModule from '../../wasm/dist/openssl-psk.mjs';
import { takeErrors } from '../core/error-queue.js';
import { TlsError, textOf } from '../core/errors.js';
import { bindShim, type RawExports } from '../core/ffi.js';
import { installImports } from '../core/ffi-imports.js';
import { TrapGuard } from '../core/guard.js';
import { OpenSSL } from './openssl.js';
import { Runtime } from '../core/runtime.js';
import { defaultWasmUrl } from '../core/wasm-url.js';

export interface LoadOptions {
  /** The .wasm bytes, if you have them already. */
  wasmBinary?: ArrayBuffer | ArrayBufferView;
  /** Where to fetch the .wasm from (default: next to this package's build, wasm/dist/). */
  wasmUrl?: string | URL;
  /** A compiled module, e.g. from compileOpenSSL(), to skip compilation. */
  module?: WebAssembly.Module;
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compiles the .wasm. With a URL (or the default) the result is cached, so later
 * loadOpenSSL() calls only instantiate. Pass the result as `module` to share it yourself.
 */
export function compileOpenSSL(options: Omit<LoadOptions, 'module'> = {}): Promise<WebAssembly.Module> {
  if (typeof WebAssembly !== 'object') {
    return Promise.reject(
      new TlsError('ERR_WASM_LOAD', 'this environment has no WebAssembly (a JIT-less mode such as node --jitless or Lockdown Mode turns it off)'),
    );
  }
  if (options.wasmBinary !== undefined) {
    return WebAssembly.compile(bytesOf(options.wasmBinary)).catch((error: unknown) => {
      throw loadError('the wasmBinary given could not be compiled', error);
    });
  }
  const base = defaultWasmUrl();
  const url = new URL(options.wasmUrl ?? base, base);
  let module = compiled.get(url.href);
  if (!module) {
    module = compileFrom(url);
    compiled.set(url.href, module);
    module.catch(() => compiled.delete(url.href));
  }
  return module;
}

/** Loads a new, independent OpenSSL instance. */
export function loadOpenSSL(options: LoadOptions = {}): Promise<OpenSSL> {
  return loadWithGlue(createOpenSSLModule, options);
}

/** The factory an emscripten glue of this module exports (wasm/dist/openssl-psk.mjs). */
export type GlueFactory = typeof createOpenSSLModule;

/**
 * @internal loadOpenSSL() with the glue of another build of the module: `npm run fuzz` loads
 * the debug variant (./build.sh --debug, wasm/dist-debug/) so, its .wasm given as `wasmUrl`.
 */
export async function loadWithGlue(createModule: GlueFactory, options: LoadOptions = {}): Promise<OpenSSL> {
  const random = platformRandom();
  const wasmModule = options.module ?? (await compileOpenSSL(options));

  let instantiationFailed!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (instantiationFailed = reject));
  const ready = createModule({
    instantiateWasm(imports, receiveInstance) {
      WebAssembly.instantiate(wasmModule, imports)
        .then((instance) => receiveInstance(instance, wasmModule))
        .catch((error: unknown) => instantiationFailed(loadError('the module could not be instantiated', error)));
      return {};
    },
  });
  const module = await Promise.race([ready, failed]);

  const rt = new Runtime(module, bindShim(module as unknown as RawExports, new TrapGuard()));
  installImports(module, { random: (buf, len) => (random.fill(rt.heap.u8.subarray(buf, buf + len)), 1) }, rt.connections);
  let initialised: number;
  try {
    initialised = rt.shim.init();
  } catch (error) {
    // A .wasm from another build lacks the functions this glue calls.
    throw error instanceof TlsError ? error : loadError('the .wasm does not match this package (rebuild with build.sh)', error);
  }
  if (!initialised) {
    const openssl = takeErrors(rt);
    if (random.failure !== undefined) {
      throw new TlsError('ERR_NO_CSPRNG', 'crypto.getRandomValues failed while seeding OpenSSL, so it will not run', {
        openssl,
        cause: random.failure,
      });
    }
    throw new TlsError('ERR_WASM_LOAD', `OpenSSL failed to initialise: ${openssl.join('; ') || 'no reason given'}`, { openssl });
  }
  return new OpenSSL(rt);
}

/** crypto.getRandomValues, captured now; the module refuses to load without it. */
function platformRandom(): { fill: (view: Uint8Array) => void; failure: unknown } {
  const crypto = (globalThis as { crypto?: { getRandomValues?: unknown } }).crypto;
  if (typeof crypto?.getRandomValues !== 'function') {
    throw new TlsError(
      'ERR_NO_CSPRNG',
      'this environment has no crypto.getRandomValues, so OpenSSL would have no secure seed: it will not run (Node 20+, browsers and workers have it)',
    );
  }
  const getRandomValues = crypto.getRandomValues.bind(crypto) as (view: Uint8Array) => Uint8Array;
  const state = {
    failure: undefined as unknown,
    fill(view: Uint8Array): void {
      try {
        // getRandomValues fills at most 65536 bytes per call.
        for (let i = 0; i < view.length; i += 65536) getRandomValues(view.subarray(i, i + 65536));
      } catch (error) {
        state.failure = error;
        throw error;
      }
    },
  };
  return state;
}

async function compileFrom(url: URL): Promise<WebAssembly.Module> {
  try {
    if (url.protocol === 'file:') {
      const { readFile } = (await import('node:fs/promises' as string)) as { readFile(path: URL): Promise<Uint8Array<ArrayBuffer>> };
      return await WebAssembly.compile(await readFile(url));
    }
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    if (typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type') === 'application/wasm') {
      return await WebAssembly.compileStreaming(response);
    }
    return await WebAssembly.compile(await response.arrayBuffer());
  } catch (error) {
    throw loadError(`${url.href} could not be loaded`, error);
  }
}

function bytesOf(source: ArrayBuffer | ArrayBufferView): Uint8Array<ArrayBuffer> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  // WebAssembly.compile wants an unshared buffer; copy a view of anything else.
  return new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice();
}

function loadError(what: string, cause: unknown): TlsError {
  const reason = textOf(cause);
  // The module uses WebAssembly SIMD (ChaCha20); an engine without it rejects it at compile time.
  const hint =
    typeof WebAssembly === 'object' && cause instanceof WebAssembly.CompileError && !simdSupported()
      ? ' (this engine lacks WebAssembly SIMD, which the module needs: Chrome/Edge 91+, Firefox 89+, Safari 16.4+, Node 16.4+)'
      : '';
  return new TlsError('ERR_WASM_LOAD', `${what}: ${reason}${hint}`, { cause });
}

/** Whether this engine validates a module with one SIMD instruction (v128.const). */
function simdSupported(): boolean {
  const module = [
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
  ];
  try {
    return WebAssembly.validate(new Uint8Array(module));
  } catch {
    return false;
  }
}
