/**
 * The state one loaded module shares between its wrappers: the shim, memory, the cipher
 * table, the live connections by SSL pointer (for callbacks), and whether the module trapped.
 * Internal: the public face of a loaded module is OpenSSL (openssl.ts).
 */
import type { EmscriptenModule } from '../wasm/dist/openssl-psk.mjs';
import { CipherTable } from './cipher.js';
import { TlsError } from './errors.js';
import type { Shim } from './ffi.js';
import { Heap } from './heap.js';
import type { CStringPtr, SslPtr } from './pointers.js';
import type { TlsConnection } from './connection.js';

export type ProtocolVersion = 'TLSv1.2' | 'TLSv1.3';

const VERSIONS: Record<ProtocolVersion, number> = { 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

export function protocolNumber(version: unknown, what: string): number {
  const number = typeof version === 'string' ? VERSIONS[version as ProtocolVersion] : undefined;
  if (number === undefined) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be 'TLSv1.2' or 'TLSv1.3', got ${JSON.stringify(version)}`);
  }
  return number;
}

export function protocolName(number: number): string {
  for (const [name, value] of Object.entries(VERSIONS)) if (value === number) return name;
  return `0x${number.toString(16).padStart(4, '0')}`;
}

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

  /** Drains OpenSSL's error queue, oldest first, as ERR_error_string_n text. */
  takeErrors(): string[] {
    const lines: string[] = [];
    let code: number;
    while ((code = this.shim.errGet()) !== 0) {
      const buf = this.heap.alloc(256);
      try {
        this.shim.errString(code, buf as number as CStringPtr, 256);
        lines.push(this.heap.cString(buf as number as CStringPtr) ?? '');
      } finally {
        this.heap.free(buf);
      }
    }
    return lines;
  }

  /** A TlsError for a failed configuration call, with OpenSSL's reasons. */
  configError(code: 'ERR_CONFIG' | 'ERR_CERTIFICATE' | 'ERR_NO_CSPRNG' | 'ERR_INVALID_ARGUMENT', message: string): TlsError {
    const openssl = this.takeErrors();
    const reason = openssl.length ? `: ${reasonOf(openssl[openssl.length - 1]!)}` : '';
    return new TlsError(code, `${message}${reason}`, { openssl });
  }
}

/** "error:141F5044:SSL routines:tls_construct_ctos_psk:internal error" -> 'tls_construct_ctos_psk'. */
export function functionOf(line: string): string | null {
  const parts = line.split(':');
  return parts.length >= 5 ? parts[3]! : null;
}

/** "error:1408F119:SSL routines:ssl3_get_record:decryption failed or bad record mac" -> the last part. */
export function reasonOf(line: string): string {
  const parts = line.split(':');
  return parts.length >= 5 ? parts.slice(4).join(':') : line;
}
