/** PBKDF2 in WebCrypto, for importPskFromPassphrase(): the key is derived where it is used. */
import { TlsError } from '../core/errors.js';
import type { PassphraseOptions } from './protocol.js';

export const DEFAULT_SUITE = 'TLS_AES_128_GCM_SHA256';

/** The key's bytes (the caller moves them into wasm memory and wipes them) and its suite. */
export async function derivePsk(passphrase: string, salt: Uint8Array, options: PassphraseOptions = {}): Promise<{ bytes: Uint8Array; cipher: string }> {
  const { iterations = 600_000, hash = 'SHA-256', length = 32, cipher = DEFAULT_SUITE } = options;
  if (passphrase === '') throw new TlsError('ERR_INVALID_ARGUMENT', 'the passphrase must be a non-empty string');
  if (salt.length < 8) throw new TlsError('ERR_INVALID_ARGUMENT', 'the salt must be a Uint8Array of at least 8 bytes');
  if (!Number.isInteger(iterations) || iterations < 1000) throw new TlsError('ERR_INVALID_ARGUMENT', 'iterations must be a whole number of at least 1000');
  if (!Number.isInteger(length) || length < 16 || length > 48) throw new TlsError('ERR_INVALID_ARGUMENT', 'length must be 16 to 48 bytes');
  const subtle = globalThis.crypto.subtle;
  const encoded = new TextEncoder().encode(passphrase);
  const material = await subtle.importKey('raw', encoded, 'PBKDF2', false, ['deriveBits']).finally(() => encoded.fill(0));
  const bits = await subtle.deriveBits({ name: 'PBKDF2', hash, salt: new Uint8Array(salt), iterations }, material, length * 8);
  return { bytes: new Uint8Array(bits), cipher };
}
