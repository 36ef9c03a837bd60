/**
 * How a stored PSK is sealed: AES-256-GCM under a wrapping key that WebCrypto generated as
 * non-extractable (no script, the vault's own included, can export it). GCM rather than AES-KW:
 * AES-KW wraps only multiples of 8 bytes, and a PSK may be any length. The record's owner,
 * identity and suite are the additional data, so a record moved to another owner or renamed
 * no longer opens.
 */
import { TlsError } from '../core/errors.js';

/** A PSK as it rests in the store: nothing in it is secret without the wrapping key. */
export interface SealedPsk {
  /** Format version (1). */
  v: 1;
  /** The page origin that imported the key (the owner; see KeyStore for who else may use it). */
  owner: string;
  identity: string;
  /** The TLS 1.3 suite whose digest the key uses. */
  cipher: string;
  /** AES-GCM's 96-bit nonce, random per record. */
  iv: Uint8Array;
  /** The key encrypted, with GCM's 16-byte tag at the end. */
  sealed: Uint8Array;
  /** When it was imported (ms since the epoch). */
  created: number;
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** A new wrapping key: AES-256-GCM, non-extractable, for encrypt and decrypt only. */
export function newWrappingKey(): Promise<CryptoKey> {
  return subtle().generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']) as Promise<CryptoKey>;
}

function additionalData(owner: string, identity: string, cipher: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(['openssl-psk-wasm/psk/1', owner, identity, cipher]));
}

/** Seals `key` (not modified: the caller wipes it). */
export async function seal(wrappingKey: CryptoKey, owner: string, identity: string, cipher: string, key: Uint8Array): Promise<SealedPsk> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const sealed = await subtle().encrypt(
    { name: 'AES-GCM', iv, additionalData: additionalData(owner, identity, cipher) },
    wrappingKey,
    key as Uint8Array<ArrayBuffer>,
  );
  return { v: 1, owner, identity, cipher, iv, sealed: new Uint8Array(sealed), created: Date.now() };
}

/**
 * Opens a record: the key's bytes, which the caller moves into wasm memory and wipes. A record
 * altered, moved or sealed under another wrapping key fails with ERR_STORAGE.
 */
export async function unseal(wrappingKey: CryptoKey, record: SealedPsk): Promise<Uint8Array> {
  try {
    const plain = await subtle().decrypt(
      { name: 'AES-GCM', iv: record.iv as Uint8Array<ArrayBuffer>, additionalData: additionalData(record.owner, record.identity, record.cipher) },
      wrappingKey,
      record.sealed as Uint8Array<ArrayBuffer>,
    );
    return new Uint8Array(plain);
  } catch (error) {
    throw new TlsError(
      'ERR_STORAGE',
      `the stored key ${JSON.stringify(record.identity)} does not open (altered, or sealed under another wrapping key): import it again`,
      {
        cause: error,
      },
    );
  }
}

/** Whether `value` has the shape of a SealedPsk (what IndexedDB gives back is checked too). */
export function isSealedPsk(value: unknown): value is SealedPsk {
  const r = value as Partial<SealedPsk> | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    r.v === 1 &&
    typeof r.owner === 'string' &&
    typeof r.identity === 'string' &&
    typeof r.cipher === 'string' &&
    r.iv instanceof Uint8Array &&
    r.iv.length === 12 &&
    r.sealed instanceof Uint8Array &&
    r.sealed.length > 16 &&
    typeof r.created === 'number'
  );
}
