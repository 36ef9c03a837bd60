/**
 * The trap guard that every call into the module goes through (the bindings that
 * scripts/gen-ffi.mjs writes into ffi.ts call it; nothing else does). A trap
 * (WebAssembly.RuntimeError) leaves OpenSSL in an unknown state, so from then on the instance
 * refuses all work. A call that threw through wasm frames gets its stack pointer back from
 * the binding before this sees the error.
 */
import { TlsError } from './errors.js';

export class TrapGuard {
  #trap: unknown = null;

  /** Throws ERR_WASM_TRAP once the instance has trapped. */
  check(): void {
    if (this.#trap !== null) {
      throw new TlsError('ERR_WASM_TRAP', 'this OpenSSL instance trapped earlier and cannot be used; load a new one', {
        cause: this.#trap,
      });
    }
  }

  /** What a call that threw `error` throws: ERR_WASM_TRAP for a trap (remembered), else `error`. */
  failure(error: unknown): unknown {
    if (!(error instanceof WebAssembly.RuntimeError)) return error;
    this.#trap = error;
    return new TlsError('ERR_WASM_TRAP', `the module trapped (${error.message}); this instance cannot be used, load a new one`, {
      cause: error,
    });
  }
}
