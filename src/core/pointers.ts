/**
 * Addresses in the module's linear memory, branded by what they point to so that an
 * SSL_CTX pointer cannot be passed where an SSL pointer is expected. 0 is NULL.
 *
 * Memory that changes hands says so (marked in wasm/shim/opw.h, carried into the generated
 * src/core/ffi.ts): Owned memory is its holder's to free (Heap.free or Heap.cleanseFree),
 * Borrowed memory belongs to OpenSSL and is only read.
 */
declare const ctype: unique symbol;
declare const owner: unique symbol;
declare const target: unique symbol;
type Pointer<C extends string> = number & { readonly [ctype]: C };

/** Any pointer, as void * in C. */
export type Ptr = Pointer<string>;
export type BytePtr = Pointer<'uint8_t'>;
export type SizeTPtr = Pointer<'size_t'>;
export type IntPtr = Pointer<'int'>;
export type CStringPtr = Pointer<'char'>;
export type SslCtxPtr = Pointer<'SSL_CTX'>;
export type SslPtr = Pointer<'SSL'>;
export type SessionPtr = Pointer<'SSL_SESSION'>;
/** Borrowed from OpenSSL's static cipher table: never freed. */
export type CipherPtr = Pointer<'SSL_CIPHER'>;
/** Borrowed from OpenSSL's static digest table: never freed. */
export type DigestPtr = Pointer<'EVP_MD'>;

/** Memory its holder must free: from Heap.alloc(), or handed over by the module (OPW_OWNED). */
export type Owned<P extends Ptr> = P & { readonly [owner]: 'holder' };
/** Memory OpenSSL owns, lent for reading (OPW_BORROWED): never freed. */
export type Borrowed<P extends Ptr> = P & { readonly [owner]: 'openssl' };
/** A `T **` out-parameter: where the module writes a pointer (read it with Heap.readPointer). */
export type OutPtr<T extends Ptr> = Pointer<'pointer'> & { readonly [target]: T };
