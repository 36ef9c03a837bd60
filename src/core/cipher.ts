/**
 * SSL_CIPHER and EVP_MD: entries of OpenSSL's static tables, so they are never freed and the
 * same suite is always the same object (compare with ===).
 */
import type { Heap } from './heap.js';
import type { Shim } from './ffi.js';
import type { CipherPtr, DigestPtr } from './pointers.js';

/** A message digest (EVP_MD), e.g. the handshake digest of a TLS 1.3 suite. */
export interface Digest {
  /** OpenSSL's short name: 'SHA256', 'SHA384'. */
  readonly name: string;
  /** Output size in bytes: 32, 48. */
  readonly size: number;
}

/** A cipher suite (SSL_CIPHER). */
export interface Cipher {
  /** OpenSSL's name: 'TLS_AES_128_GCM_SHA256', 'ECDHE-PSK-CHACHA20-POLY1305'. */
  readonly name: string;
  /** The IANA name: 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256'. */
  readonly standardName: string | null;
  /** The two-byte suite number, e.g. 0x1301 (SSL_CIPHER_get_protocol_id). */
  readonly id: number;
  /** The earliest protocol version it works with (SSL_CIPHER_get_version), e.g. 'TLSv1.3'. */
  readonly version: string;
  /** SSL_CIPHER_get_handshake_digest: the digest a TLS 1.3 PSK must match. */
  readonly handshakeDigest: Digest | null;
}

/** Wraps table entries once each, so equal suites are identical objects. */
export class CipherTable {
  readonly #ciphers = new Map<number, Cipher>();
  readonly #digests = new Map<number, Digest>();
  readonly #pointers = new WeakMap<Cipher, CipherPtr>();

  constructor(
    private readonly shim: Shim,
    private readonly heap: Heap,
  ) {}

  cipher(ptr: CipherPtr): Cipher | null {
    if (ptr === 0) return null;
    let cipher = this.#ciphers.get(ptr);
    if (!cipher) {
      cipher = Object.freeze({
        name: this.heap.cString(this.shim.cipherName(ptr)) ?? '',
        standardName: this.heap.cString(this.shim.cipherStandardName(ptr)),
        id: this.shim.cipherProtocolId(ptr),
        version: this.heap.cString(this.shim.cipherVersion(ptr)) ?? '',
        handshakeDigest: this.digest(this.shim.cipherHandshakeDigest(ptr)),
      });
      this.#ciphers.set(ptr, cipher);
      this.#pointers.set(cipher, ptr);
    }
    return cipher;
  }

  digest(ptr: DigestPtr): Digest | null {
    if (ptr === 0) return null;
    let digest = this.#digests.get(ptr);
    if (!digest) {
      digest = Object.freeze({
        name: this.heap.cString(this.shim.digestName(ptr)) ?? '',
        size: this.shim.digestSize(ptr),
      });
      this.#digests.set(ptr, digest);
    }
    return digest;
  }

  /** SHA-256, the digest OpenSSL assumes for a TLS 1.3 PSK from a TLS 1.2-style callback. */
  sha256(): Digest {
    const aes128 = this.heap.withCString('TLS_AES_128_GCM_SHA256', (name) => this.shim.cipherByName(name));
    return this.cipher(aes128)!.handshakeDigest!;
  }

  /** The SSL_CIPHER behind a Cipher this table made; 0 for any other object. */
  pointer(cipher: Cipher): CipherPtr {
    return this.#pointers.get(cipher) ?? (0 as CipherPtr);
  }
}
