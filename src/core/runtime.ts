/**
 * The state one loaded module shares between its wrappers: the shim, memory, the cipher
 * table, the live connections by SSL pointer (for callbacks), and whether the module trapped.
 * Internal: the public face of a loaded module is OpenSSL (tls/openssl.ts).
 */
import type { EmscriptenModule } from '../../wasm/dist/openssl-psk.mjs';
import { CipherTable } from './cipher.js';
import { TlsError } from './errors.js';
import type { Shim } from './ffi.js';
import { Heap } from './heap.js';
import type { SslPtr } from './pointers.js';
import type { TlsConnection } from '../tls/connection.js';

export class Runtime {
  readonly heap: Heap;
  readonly ciphers: CipherTable;
  /** Live connections by SSL pointer: how a C callback finds its connection. */
  readonly connections = new Map<SslPtr, TlsConnection>();
  /**
   * A token for the application PSK callback running now (null outside one): a session made
   * while it runs remembers it, so that returning that session hands it over (session.ts).
   */
  callbackFrame: object | null = null;
  #trap: unknown = null;

  constructor(
    readonly module: EmscriptenModule,
    readonly shim: Shim,
  ) {
    this.heap = new Heap(module, shim);
    this.ciphers = new CipherTable(shim, this.heap);
  }

  /**
   * Every call into the module goes through here. A trap (WebAssembly.RuntimeError) leaves
   * OpenSSL in an unknown state, so the instance refuses all further work.
   */
  enter<T>(fn: () => T): T {
    if (this.#trap !== null) {
      throw new TlsError('ERR_WASM_TRAP', 'this OpenSSL instance trapped earlier and cannot be used; load a new one', {
        cause: this.#trap,
      });
    }
    try {
      return fn();
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        this.#trap = error;
        throw new TlsError('ERR_WASM_TRAP', `the module trapped (${error.message}); this instance cannot be used, load a new one`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}
