// Types for the emscripten glue that build.sh writes to wasm/dist/openssl-psk.mjs.
// Only what the facade's loader uses; the C exports themselves are typed in src/ffi.ts.

export interface ModuleOptions {
  /** Instantiates the wasm ourselves: from bytes, a URL or a precompiled WebAssembly.Module. */
  instantiateWasm(imports: WebAssembly.Imports, receiveInstance: (instance: WebAssembly.Instance, module?: WebAssembly.Module) => void): object | false;
  onAbort?(what: unknown): void;
}

export interface EmscriptenModule {
  readonly HEAPU8: Uint8Array;
  readonly HEAP32: Int32Array;
  readonly HEAPU32: Uint32Array;
  /** Set by the facade (src/core/ffi-imports.ts): the JavaScript side of the shim's imports. */
  opwImports?: object;
}

declare const createOpenSSLModule: (options: ModuleOptions) => Promise<EmscriptenModule>;
export default createOpenSSLModule;
