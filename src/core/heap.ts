/**
 * Marshalling between JavaScript and the module's linear memory: copy in, copy out, C
 * strings, and cleansing of secrets. Linear memory can grow during any call into the module,
 * which replaces its ArrayBuffer, so views are always taken fresh from the module.
 */
import type { EmscriptenModule } from '../../wasm/dist/openssl-psk.mjs';
import { TlsError } from './errors.js';
import type { Shim } from './ffi.js';
import type { BytePtr, CStringPtr, IntPtr, OutPtr, Owned, Ptr, SizeTPtr } from './pointers.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Heap {
  constructor(
    private readonly module: EmscriptenModule,
    private readonly shim: Shim,
  ) {}

  /** The current view of linear memory; invalid after the next call into the module. */
  get u8(): Uint8Array {
    return this.module.HEAPU8;
  }

  /** Allocates `len` bytes; the caller owns them and must free them. */
  alloc(len: number): Owned<BytePtr> {
    const ptr = this.shim.alloc(len);
    if (ptr === 0) throw new TlsError('ERR_OUT_OF_MEMORY', `the module could not allocate ${len} bytes`);
    return ptr;
  }

  free(ptr: Owned<Ptr>): void {
    this.shim.free(ptr);
  }

  /** Overwrites with zeros (OPENSSL_cleanse), then frees. */
  cleanseFree(ptr: Owned<Ptr>, len: number): void {
    this.shim.cleanseFree(ptr, len);
  }

  /** Copies bytes into newly allocated memory, honouring the view's offset and length. */
  copyIn(bytes: Uint8Array): Owned<BytePtr> {
    const ptr = this.alloc(bytes.byteLength);
    this.u8.set(bytes, ptr);
    return ptr;
  }

  /** Copies bytes out of linear memory into a new Uint8Array that JavaScript owns. */
  copyOut(ptr: Ptr, len: number): Uint8Array {
    return this.u8.slice(ptr, ptr + len);
  }

  readSize(ptr: SizeTPtr): number {
    return this.module.HEAPU32[ptr >>> 2]!;
  }

  writeSize(ptr: SizeTPtr, value: number): void {
    this.module.HEAPU32[ptr >>> 2] = value;
  }

  readInt(ptr: IntPtr): number {
    return this.module.HEAP32[ptr >>> 2]!;
  }

  /** The pointer the module wrote to an out-parameter; it keeps its owner's mark. */
  readPointer<T extends Ptr>(out: OutPtr<T>): T {
    return this.module.HEAPU32[out >>> 2]! as T;
  }

  /** Answers an out-parameter of an import. */
  writePointer<T extends Ptr>(out: OutPtr<T>, value: T): void {
    this.module.HEAPU32[out >>> 2] = value;
  }

  /**
   * Runs `fn` with a pointer-sized out-parameter (freed afterwards), and returns its result
   * with the pointer the module wrote there.
   */
  withOutPointer<T extends Ptr, R>(fn: (out: OutPtr<T>) => R): { result: R; pointer: T } {
    const out = this.alloc(4);
    try {
      const result = fn(out as number as OutPtr<T>);
      return { result, pointer: this.readPointer(out as number as OutPtr<T>) };
    } finally {
      this.free(out);
    }
  }

  /** Reads a NUL-terminated UTF-8 string; NULL reads as null. */
  cString(ptr: CStringPtr): string | null {
    if (ptr === 0) return null;
    const u8 = this.u8;
    const end = u8.indexOf(0, ptr);
    return decoder.decode(u8.subarray(ptr, end < 0 ? u8.length : end));
  }

  /** Runs `fn` with a NUL-terminated UTF-8 copy of `text`, freed afterwards. */
  withCString<T>(text: string, fn: (ptr: CStringPtr, len: number) => T): T {
    const bytes = encoder.encode(text);
    const ptr = this.alloc(bytes.length + 1);
    try {
      const u8 = this.u8;
      u8.set(bytes, ptr);
      u8[ptr + bytes.length] = 0;
      return fn(ptr as number as CStringPtr, bytes.length);
    } finally {
      this.free(ptr);
    }
  }

  /** Runs `fn` with a copy of `bytes` in linear memory, freed afterwards. */
  withBytes<T>(bytes: Uint8Array, fn: (ptr: BytePtr, len: number) => T): T {
    const ptr = this.copyIn(bytes);
    try {
      return fn(ptr, bytes.byteLength);
    } finally {
      this.free(ptr);
    }
  }

  /**
   * Runs `fn` with a copy of secret bytes in linear memory; the copy is cleansed and freed as
   * soon as `fn` returns, which is when OpenSSL holds its own copy.
   */
  withSecret<T>(secret: Uint8Array, fn: (ptr: BytePtr, len: number) => T): T {
    const ptr = this.copyIn(secret);
    try {
      return fn(ptr, secret.byteLength);
    } finally {
      this.cleanseFree(ptr, secret.byteLength);
    }
  }
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
