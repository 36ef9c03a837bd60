/**
 * The state one loaded module shares between its wrappers: the shim (every call guarded, see
 * guard.ts), memory, the cipher table, and the live connections by SSL pointer (for the
 * shim's imports).
 * Internal: the public face of a loaded module is OpenSSL (tls/openssl.ts).
 */
import type { EmscriptenModule } from '../../wasm/dist/openssl-psk.mjs';
import { CipherTable } from './cipher.js';
import type { ConnectionImports } from './ffi-imports.js';
import type { Shim } from './ffi.js';
import { Heap } from './heap.js';
import type { SslPtr } from './pointers.js';

export class Runtime {
  readonly heap: Heap;
  readonly ciphers: CipherTable;
  /** Live connections by SSL pointer: how an import of the shim finds the one it is about. */
  readonly connections = new Map<SslPtr, ConnectionImports>();
  /**
   * A token for the application PSK callback running now (null outside one): a session made
   * while it runs remembers it, so that returning that session hands it over (session.ts).
   */
  callbackFrame: object | null = null;
  #certificates: boolean | undefined;

  constructor(
    readonly module: EmscriptenModule,
    readonly shim: Shim,
  ) {
    this.heap = new Heap(module, shim);
    this.ciphers = new CipherTable(shim, this.heap);
  }

  /** Whether this is the full build (certificates) rather than the PSK build. */
  get certificates(): boolean {
    return (this.#certificates ??= this.shim.buildHasCertificates() === 1);
  }
}
