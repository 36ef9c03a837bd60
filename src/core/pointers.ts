/**
 * Addresses in the module's linear memory, branded by what they point to so that an
 * SSL_CTX pointer cannot be passed where an SSL pointer is expected. 0 is NULL.
 */
declare const ctype: unique symbol;
type Pointer<C extends string> = number & { readonly [ctype]: C };

/** Any pointer, as void * in C. */
export type Ptr = Pointer<string>;
export type BytePtr = Pointer<'uint8_t'>;
export type SizeTPtr = Pointer<'size_t'>;
export type CStringPtr = Pointer<'char'>;
export type SslCtxPtr = Pointer<'SSL_CTX'>;
export type SslPtr = Pointer<'SSL'>;
export type SessionPtr = Pointer<'SSL_SESSION'>;
/** Borrowed from OpenSSL's static cipher table: never freed. */
export type CipherPtr = Pointer<'SSL_CIPHER'>;
/** Borrowed from OpenSSL's static digest table: never freed. */
export type DigestPtr = Pointer<'EVP_MD'>;
