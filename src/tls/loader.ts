/**
 * loadBuild(): fetch or read the .wasm of one build (the PSK build or the full build, see
 * ModuleBuild), compile it (once per URL), instantiate the module, wire the shim's imports, and
 * seed OpenSSL from the platform CSPRNG. The same code runs in Node 20, browsers and workers;
 * the emscripten glue never loads anything by itself. This module names neither build, so that
 * an application's bundle holds only the one its entry point imports (psk-build.ts, full-build.ts).
 */
import type createOpenSSLModule from '../../wasm/dist/openssl-psk.mjs';
import { takeErrors } from '../core/error-queue.js';
import { readFileUrl } from '../core/read-file.js';
import { TlsError, textOf } from '../core/errors.js';
import { bindShim, type RawExports } from '../core/ffi.js';
import { installImports } from '../core/ffi-imports.js';
import { TrapGuard } from '../core/guard.js';
import { OpenSSL } from './openssl.js';
import { Runtime } from '../core/runtime.js';

/** Where loadOpenSSL() and compileOpenSSL() find the module; at most one of these is needed. */
export interface LoadOptions {
  /** The .wasm bytes, if you have them already. */
  wasmBinary?: ArrayBuffer | ArrayBufferView;
  /** Where to fetch the .wasm from (default: next to this package's build, wasm/dist/). */
  wasmUrl?: string | URL;
  /** A compiled module, e.g. from compileOpenSSL(), to skip compilation. */
  module?: WebAssembly.Module;
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** The factory an emscripten glue of this module exports (wasm/dist/openssl-psk.mjs). */
export type GlueFactory = typeof createOpenSSLModule;

/** @internal One build of the module: its glue, where its .wasm is, and whether it has certificates. */
export interface ModuleBuild {
  readonly glue: GlueFactory;
  /** The .wasm's default URL; a relative `wasmUrl` resolves against it. */
  readonly wasmUrl: () => URL;
  readonly certificates: boolean;
}

/** @internal compileOpenSSL() of a build. */
export function compileBuild(build: ModuleBuild, options: Omit<LoadOptions, 'module'> = {}): Promise<WebAssembly.Module> {
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
  const base = build.wasmUrl();
  const url = new URL(options.wasmUrl ?? base, base);
  let module = compiled.get(url.href);
  if (!module) {
    module = compileFrom(url);
    compiled.set(url.href, module);
    module.catch(() => compiled.delete(url.href));
  }
  return module;
}

/** @internal preload() of a build: compileOpenSSL() whose rejection, if ignored, is not unhandled. */
export function preloadBuild(build: ModuleBuild, options: Pick<LoadOptions, 'wasmUrl'> = {}): Promise<void> {
  const done = compileBuild(build, options.wasmUrl === undefined ? {} : { wasmUrl: options.wasmUrl }).then(() => undefined);
  done.catch(() => {});
  return done;
}

/** @internal loadOpenSSL() of a build. */
export async function loadBuild(build: ModuleBuild, options: LoadOptions = {}): Promise<OpenSSL> {
  const random = platformRandom();
  const wasmModule = options.module ?? (await compileBuild(build, options));

  let instantiationFailed!: (error: unknown) => void;
  const failed = new Promise<never>((_, reject) => (instantiationFailed = reject));
  const ready = build.glue({
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
    if (rt.certificates !== build.certificates) {
      throw new TlsError(
        'ERR_WASM_LOAD',
        `the .wasm is the ${build.certificates ? 'PSK' : 'full'} build, not the ${build.certificates ? 'full' : 'PSK'} one this entry point loads: give openssl-psk${build.certificates ? '-full' : ''}.wasm as wasmUrl`,
      );
    }
  } catch (error) {
    // A .wasm from another build (or the other build of this one) lacks the functions this glue calls.
    throw error instanceof TlsError
      ? error
      : loadError(
          "the .wasm does not match this package or this entry point's build (openssl-psk.wasm for openssl-psk-wasm, openssl-psk-full.wasm for openssl-psk-wasm/full; rebuild with build.sh)",
          error,
        );
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
  if (url.protocol === 'file:') {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await readFileUrl(url);
    } catch (error) {
      throw loadError(`${url.href} could not be read`, error);
    }
    return compileChecked(bytes, url, null);
  }
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (error) {
    throw loadError(`${url.href} could not be fetched (network, CORS or Content-Security-Policy connect-src)`, error);
  }
  const type = response.headers.get('content-type');
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new TlsError('ERR_WASM_LOAD', `${url.href} answered ${response.status} ${response.statusText} (${type ?? 'no content type'})${WHERE_TO_PUT_IT}`);
  }
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response.clone());
    } catch {
      // not the module after all: the bytes below say what came instead
    }
  }
  return compileChecked(new Uint8Array(await response.arrayBuffer()), url, type);
}

/** How to fix a .wasm that is not where the package looks for it. */
const WHERE_TO_PUT_IT =
  ': serve openssl-psk.wasm from the package (dist/browser/openssl-psk.wasm) at that URL as application/wasm, or say where it is with loadOpenSSL({ wasmUrl }) or createTlsWorker({ wasmUrl })';

/** Compiles bytes fetched from `url`, saying what came instead if they are not a WebAssembly module. */
async function compileChecked(bytes: Uint8Array<ArrayBuffer>, url: URL, type: string | null): Promise<WebAssembly.Module> {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 4 || magic.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = String.fromCharCode(...bytes.subarray(0, 16)).replace(/[^\x20-\x7e]/g, '.');
    throw new TlsError(
      'ERR_WASM_LOAD',
      `${url.href} is not a WebAssembly module: ${bytes.length} bytes${type ? ` of ${type}` : ''} starting ${head || '(nothing)'} ${JSON.stringify(text)} (a module starts 00 61 73 6d)${WHERE_TO_PUT_IT}`,
    );
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw loadError(`${url.href} could not be compiled`, error);
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
