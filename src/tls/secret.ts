/**
 * SecretKey: key bytes that live only in the module's linear memory. Made by
 * OpenSSL.importSecret(), which copies the bytes in and (with `wipe`) overwrites the source.
 * OpenSSL is handed the key straight from there (a session's master key, or a TLS 1.2
 * callback's PSK buffer), so it never travels back through JavaScript. free() overwrites it
 * (OPENSSL_cleanse) before releasing the memory.
 */
import { TlsError, requireBytes } from '../core/errors.js';
import { Lifetime } from '../core/lifetime.js';
import type { BytePtr, Owned } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';

/**
 * Key bytes kept in wasm memory only (OpenSSL.importSecret()), handed to OpenSSL from there;
 * accepted wherever a key is. free() cleanses them.
 */
export class SecretKey extends Lifetime {
  readonly #rt: Runtime;
  readonly #ptr: Owned<BytePtr>;
  readonly #length: number;

  /** @internal Use OpenSSL.importSecret(). */
  constructor(rt: Runtime, bytes: Uint8Array) {
    requireBytes(bytes, 'the key');
    if (bytes.length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'the key is empty');
    super('SecretKey');
    this.#rt = rt;
    this.#length = bytes.length;
    this.#ptr = rt.heap.copyIn(bytes);
  }

  /** Length in bytes. */
  get length(): number {
    return this.#length;
  }

  /** @internal Where the key is, checked live. */
  get pointer(): BytePtr {
    this.assertLive();
    return this.#ptr;
  }

  /** @internal Throws unless this key lives in `rt`'s memory (each instance has its own). */
  checkInstance(rt: Runtime): void {
    if (rt !== this.#rt) throw new TlsError('ERR_INVALID_ARGUMENT', 'this SecretKey belongs to another OpenSSL instance; import it into this one');
  }

  /** @internal Copies the key into other memory of the module (e.g. OpenSSL's PSK buffer). */
  copyTo(destination: BytePtr): void {
    const u8 = this.#rt.heap.u8;
    u8.copyWithin(destination, this.pointer, this.#ptr + this.#length);
  }

  protected release(): void {
    this.#rt.heap.cleanseFree(this.#ptr, this.#length);
  }
}

/** A key as the API takes it: bytes, or a SecretKey already in the module. */
export type KeyMaterial = Uint8Array | SecretKey;

export function keyLength(key: unknown, what: string): number {
  if (key instanceof SecretKey) return key.length;
  return requireBytes(key, what).length;
}
