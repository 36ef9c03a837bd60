/**
 * SslSession: an SSL_SESSION, the basis of a TLS 1.3 PSK (a master key, a suite whose
 * handshake digest the PSK uses, the protocol version, and the early data allowance), or a
 * session from an earlier handshake.
 *
 * The wrapper owns one reference. When a PSK callback hands a session to OpenSSL, the shim
 * gives OpenSSL a reference of its own, so free() on it never pulls a session out from under
 * a handshake. Who frees the wrapper's reference depends on where the session was made:
 * - made outside the PSK callbacks: the application, whenever it likes; the same session may
 *   serve any number of connections (the application keeps it);
 * - made inside a PSK callback and returned from that same call: the connection it was
 *   returned for, when that connection is freed. This is the man page's "ownership of the
 *   SSL_SESSION object is passed to the OpenSSL library and so it should not be freed by the
 *   application": a callback may return a new session per call and forget it, without a leak.
 *   keep() before returning it makes it the application's instead.
 */
import type { Cipher } from '../core/cipher.js';
import { configError } from '../core/error-queue.js';
import { TlsError, describe, requireUint32 } from '../core/errors.js';
import { Lifetime } from '../core/lifetime.js';
import type { BytePtr, CStringPtr, OutPtr, Owned, SessionPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import { protocolName, protocolNumber, type ProtocolVersion } from './protocol-version.js';
import { SecretKey, keyLength, type KeyMaterial } from './secret.js';

/** OpenSSL 1.1.1 keeps at most this many bytes of master key (SSL_MAX_MASTER_KEY_LENGTH). */
export const MAX_MASTER_KEY_LENGTH = 48;

let sessionCount = 0;

/** @internal How many SslSession wrappers have been made so far, in every instance: marks the start of an asynchronous lookup. */
export function sessionsMade(): number {
  return sessionCount;
}

/** OpenSSL.createPskSession()'s options: a TLS 1.3 external PSK as a session. */
export interface PskSessionOptions {
  /** The pre-shared key: 1 to 48 bytes, or a SecretKey. Copied into OpenSSL; any copy made on the way is cleansed. */
  masterKey: KeyMaterial;
  /** A TLS 1.3 suite (name or Cipher) whose handshake digest the PSK uses. */
  cipher: string | Cipher;
  /** Must be 'TLSv1.3' for a PSK (the default). */
  protocolVersion?: ProtocolVersion;
  /** Early data the client may send with this PSK (SSL_SESSION_set_max_early_data); 0 = none. */
  maxEarlyData?: number;
}

/**
 * An SSL_SESSION: a TLS 1.3 external PSK (OpenSSL.createPskSession()) or a session to resume
 * (getSession(), onNewSession, OpenSSL.sessionFromPem()). Yours to free(), unless a PSK
 * callback made it and returned it (see keep()).
 */
export class SslSession extends Lifetime {
  readonly #rt: Runtime;
  readonly #ptr: SessionPtr;
  /** The PSK callback call this session was made in, if any (Runtime.callbackFrame). */
  #madeIn: object | null;
  /** Set once a connection took this session over; freed with that connection. */
  #handedOver = false;
  /** keep() was called: the application's, wherever it was made. */
  #kept = false;
  /** Its place in the order sessions are made in (sessionsMade()). */
  readonly #serial: number;

  /** @internal Takes ownership of one reference to `ptr`. */
  constructor(rt: Runtime, ptr: SessionPtr) {
    super('SslSession');
    this.#rt = rt;
    this.#ptr = ptr;
    this.#madeIn = rt.callbackFrame;
    this.#serial = ++sessionCount;
  }

  /**
   * Keeps this session the application's even if it is returned from the PSK callback call
   * that made it (e.g. a session made on first use and cached): the application frees it.
   * Sessions made outside the callbacks are the application's anyway. Returns this.
   */
  keep(): this {
    this.assertLive();
    this.#madeIn = null;
    this.#kept = true;
    return this;
  }

  /**
   * @internal True, and from now on the connection's to free, if this session was made in
   * the callback call `frame` and not kept; the man page's ownership (see the class comment).
   */
  handOverIfMadeIn(frame: object): boolean {
    if (this.freed || this.#handedOver || this.#madeIn !== frame) return false;
    this.#handedOver = true;
    this.#madeIn = null;
    return true;
  }

  /**
   * @internal True, and from now on the caller's to free, if this session was made after
   * sessionsMade() returned `since` (while an asynchronous lookup ran) and was neither kept
   * nor handed over already: the same ownership for acceptTls's findPsk.
   */
  handOverIfMadeSince(since: number): boolean {
    if (this.freed || this.#handedOver || this.#kept || this.#serial <= since) return false;
    this.#handedOver = true;
    this.#madeIn = null;
    return true;
  }

  protected override freedMessage(what: string): string {
    if (!this.#handedOver) return super.freedMessage(what);
    return (
      `this ${what} was created inside a PSK callback (or a findPsk lookup) and returned from it, so it went to OpenSSL with its connection ` +
      "(the man page's ownership) and was freed with it; to use one session for many connections, create it outside " +
      'the callback, or call keep() on it before returning it'
    );
  }

  /** @internal Throws unless this session lives in `rt`'s memory (each instance has its own). */
  checkInstance(rt: Runtime): void {
    if (rt !== this.#rt) {
      throw new TlsError(
        'ERR_INVALID_ARGUMENT',
        'this SslSession belongs to another OpenSSL instance; make the session with the instance that makes the connection',
      );
    }
  }

  /** @internal The SSL_SESSION, checked live. */
  get pointer(): SessionPtr {
    this.assertLive();
    return this.#ptr;
  }

  /** SSL_SESSION_get0_cipher. */
  get cipher(): Cipher | null {
    return this.#rt.ciphers.cipher(this.#rt.shim.sessionCipher(this.pointer));
  }

  /** SSL_SESSION_get_protocol_version, as 'TLSv1.3', 'TLSv1.2', or a hex number. */
  get protocolVersion(): string {
    return protocolName(this.#rt.shim.sessionProtocolVersion(this.pointer));
  }

  /** SSL_SESSION_get_max_early_data. */
  get maxEarlyData(): number {
    return this.#rt.shim.sessionMaxEarlyData(this.pointer);
  }

  /** Length of the master key in bytes (the key itself never leaves OpenSSL). */
  get masterKeyLength(): number {
    return this.#rt.shim.sessionMasterKeyLength(this.pointer);
  }

  /** SSL_SESSION_is_resumable: true for a session from a completed handshake that can resume. */
  get resumable(): boolean {
    return this.#rt.shim.sessionIsResumable(this.pointer) === 1;
  }

  /**
   * SSL_SESSION_set1_master_key. Bytes are copied into wasm memory for the call and cleansed
   * right after; a SecretKey goes to OpenSSL straight from where it lives.
   */
  setMasterKey(key: KeyMaterial): this {
    const length = keyLength(key, 'the master key');
    if (length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'the master key (PSK) is empty');
    if (length > MAX_MASTER_KEY_LENGTH) {
      throw new TlsError('ERR_PSK_KEY_TOO_LONG', `the master key (PSK) is ${length} bytes; OpenSSL 1.1.1 sessions hold at most ${MAX_MASTER_KEY_LENGTH}`);
    }
    const rt = this.#rt;
    const set = (ptr: BytePtr, len: number) => rt.shim.sessionSet1MasterKey(this.pointer, ptr, len);
    let ok: number;
    if (key instanceof SecretKey) {
      key.checkInstance(rt);
      ok = set(key.pointer, length);
    } else {
      ok = rt.heap.withSecret(key, set);
    }
    if (!ok) throw configError(rt, 'ERR_CONFIG', 'SSL_SESSION_set1_master_key failed');
    return this;
  }

  /** SSL_SESSION_set_cipher. */
  setCipher(cipher: string | Cipher): this {
    const ptr = this.#rt.ciphers.pointer(resolveCipher(this.#rt, cipher));
    if (!this.#rt.shim.sessionSetCipher(this.pointer, ptr)) {
      throw configError(this.#rt, 'ERR_CONFIG', 'SSL_SESSION_set_cipher failed');
    }
    return this;
  }

  /** SSL_SESSION_set_protocol_version: 'TLSv1.3' for a PSK. */
  setProtocolVersion(version: ProtocolVersion): this {
    const number = protocolNumber(version, 'protocolVersion');
    if (!this.#rt.shim.sessionSetProtocolVersion(this.pointer, number)) {
      throw configError(this.#rt, 'ERR_CONFIG', 'SSL_SESSION_set_protocol_version failed');
    }
    return this;
  }

  /** SSL_SESSION_set_max_early_data. */
  setMaxEarlyData(max: number): this {
    requireUint32(max, 'maxEarlyData');
    if (!this.#rt.shim.sessionSetMaxEarlyData(this.pointer, max)) {
      throw configError(this.#rt, 'ERR_CONFIG', 'SSL_SESSION_set_max_early_data failed');
    }
    return this;
  }

  /**
   * PEM_write_bio_SSL_SESSION: "-----BEGIN SSL SESSION PARAMETERS-----", what `openssl
   * s_client -sess_out` writes and `-sess_in`/`-psk_session` read. It holds the master key:
   * treat it as the key itself.
   */
  toPem(): string {
    const rt = this.#rt;
    const { result: len, pointer: pem } = rt.heap.withOutPointer((out: OutPtr<Owned<CStringPtr>>) => rt.shim.sessionToPem(this.pointer, out));
    if (len === 0) throw configError(rt, 'ERR_CONFIG', 'PEM_write_bio_SSL_SESSION failed');
    try {
      return new TextDecoder().decode(rt.heap.u8.subarray(pem, pem + len));
    } finally {
      rt.heap.cleanseFree(pem, len); // ours to free (OPW_OWNED), and it holds the master key
    }
  }

  protected release(): void {
    this.#rt.shim.sessionFree(this.#ptr);
  }
}

/** A Cipher from a name (OpenSSL or IANA) or a Cipher this module made. */
export function resolveCipher(rt: Runtime, cipher: unknown): Cipher {
  if (typeof cipher === 'string') {
    const ptr = rt.heap.withCString(cipher, (name) => rt.shim.cipherByName(name));
    const found = rt.ciphers.cipher(ptr);
    if (!found) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `unknown cipher suite ${JSON.stringify(cipher)} (this build has no such suite)`);
    }
    return found;
  }
  if (cipher && typeof cipher === 'object' && rt.ciphers.pointer(cipher as Cipher) !== 0) return cipher as Cipher;
  throw new TlsError('ERR_INVALID_ARGUMENT', `cipher must be a suite name or a Cipher from findCipher(), got ${describe(cipher)}`);
}
