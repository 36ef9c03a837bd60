/**
 * OpenSSL: one loaded instance of the module, the entry point to contexts, sessions and
 * ciphers. Instances share nothing; each has its own memory and its own random state.
 */
import type { Cipher } from '../core/cipher.js';
import { SslContext, type ContextOptions } from './context.js';
import { configError } from '../core/error-queue.js';
import { TlsError, describe } from '../core/errors.js';
import { utf8 } from '../core/heap.js';
import type { CStringPtr, SessionPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import { SecretKey } from './secret.js';
import { SslSession, resolveCipher, type PskSessionOptions } from './session.js';

/** The module's memory use: OpenSSL.heapStats(). */
export interface HeapStats {
  /** Size of the module's linear memory in bytes (it only grows). */
  memoryBytes: number;
  /** Bytes the allocator has handed out and not got back (mallinfo().uordblks). */
  inUseBytes: number;
}

/**
 * One loaded instance of the module (loadOpenSSL()): makes contexts, sessions and secret keys,
 * and finds ciphers. Instances share nothing.
 */
export class OpenSSL {
  /** OpenSSL_version(OPENSSL_VERSION), e.g. 'OpenSSL 1.1.1w  11 Sep 2023'. */
  readonly version: string;
  readonly #rt: Runtime;

  /** @internal Use loadOpenSSL(). */
  constructor(rt: Runtime) {
    this.#rt = rt;
    this.version = rt.heap.cString(rt.shim.version()) ?? '';
  }

  /**
   * SSL_CTX_new and its settings: a context whose connections take `options.role`.
   *
   * @example A TLS 1.3 PSK handshake in memory, client and server in one place
   * ```ts
   * import { loadOpenSSL } from 'openssl-psk-wasm';
   *
   * const ossl = await loadOpenSSL();
   * const psk = ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }); // key: 32 bytes
   * const client = ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session: psk }) });
   * const server = ossl.createContext({
   *   role: 'server',
   *   pskFindSession: (conn, identity) => (new TextDecoder().decode(identity) === 'dev-1' ? psk : null),
   * });
   * const c = client.createConnection();
   * const s = server.createConnection();
   * while (!(c.handshakeDone && s.handshakeDone)) {
   *   if (!c.handshakeDone) c.handshake(); // 'done' or 'want-read'
   *   s.feed(c.drain());
   *   if (!s.handshakeDone) s.handshake();
   *   c.feed(s.drain());
   * }
   * console.log(c.protocol, c.cipher?.name); // 'TLSv1.3' 'TLS_CHACHA20_POLY1305_SHA256' (a SHA-256 suite, as the PSK's)
   * for (const o of [c, s, client, server, psk]) o.free();
   * ```
   */
  createContext(options: ContextOptions): SslContext {
    return new SslContext(this.#rt, options);
  }

  /** SSL_SESSION_new: an empty session, to fill in with the SslSession setters. */
  createSession(): SslSession {
    const rt = this.#rt;
    const ptr = rt.shim.sessionNew();
    if (ptr === 0) throw new TlsError('ERR_OUT_OF_MEMORY', 'SSL_SESSION_new failed');
    return new SslSession(rt, ptr);
  }

  /**
   * PEM_read_bio_SSL_SESSION: a session from SslSession.toPem() or `openssl s_client -sess_out`.
   * The PEM holds the master key: the copies made on the way are cleansed. A string cannot be
   * wiped (it stays wherever JavaScript keeps it); bytes can: with `wipe`, they are overwritten
   * with zeros once read.
   */
  sessionFromPem(pem: string | Uint8Array, { wipe = false }: { wipe?: boolean } = {}): SslSession {
    const rt = this.#rt;
    if (typeof pem !== 'string' && !(pem instanceof Uint8Array)) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `sessionFromPem() takes a PEM string or its bytes, got ${describe(pem)}`);
    }
    const bytes = typeof pem === 'string' ? utf8(pem) : pem;
    let ptr: SessionPtr;
    try {
      ptr = rt.heap.withSecret(bytes, (p, len) => rt.shim.sessionFromPem(p as number as CStringPtr, len));
    } finally {
      if (bytes !== pem || wipe) bytes.fill(0); // our own encoding of a string, always
    }
    if (ptr === 0) {
      throw configError(
        rt,
        'ERR_INVALID_ARGUMENT',
        'sessionFromPem(): not a session PEM ("-----BEGIN SSL SESSION PARAMETERS-----", as toPem() and openssl -sess_out write)',
      );
    }
    return new SslSession(rt, ptr);
  }

  /**
   * A TLS 1.3 external PSK as the man page describes it: SSL_SESSION_new, then
   * set1_master_key, set_cipher, set_protocol_version and set_max_early_data.
   */
  createPskSession(options: PskSessionOptions): SslSession {
    if (!options || typeof options !== 'object') {
      throw new TlsError('ERR_INVALID_ARGUMENT', `createPskSession() takes { masterKey, cipher }, got ${describe(options)}`);
    }
    const cipher = resolveCipher(this.#rt, options.cipher);
    if (cipher.version !== 'TLSv1.3') {
      throw new TlsError('ERR_INVALID_ARGUMENT', `${cipher.name} is not a TLS 1.3 suite; a PSK session needs one (its handshake digest is the PSK's)`);
    }
    const session = this.createSession();
    try {
      session.setMasterKey(options.masterKey);
      session.setCipher(cipher);
      session.setProtocolVersion(options.protocolVersion ?? 'TLSv1.3');
      session.setMaxEarlyData(options.maxEarlyData ?? 0);
      return session;
    } catch (error) {
      session.free();
      throw error;
    }
  }

  /**
   * Copies key bytes into this instance's memory, to be given to OpenSSL from there (PSK
   * sessions, PSK callbacks, static PSKs) without further copies in JavaScript. With `wipe`,
   * the source bytes are overwritten with zeros once copied. free() cleanses the key.
   */
  importSecret(bytes: Uint8Array, { wipe = false }: { wipe?: boolean } = {}): SecretKey {
    const key = new SecretKey(this.#rt, bytes);
    if (wipe) bytes.fill(0);
    return key;
  }

  /**
   * A cipher suite by name (OpenSSL's, or IANA's for TLS 1.3) or by its two-byte id
   * (SSL_CIPHER_find). Throws ERR_INVALID_ARGUMENT for a suite this build does not have.
   */
  findCipher(nameOrId: string | Uint8Array): Cipher {
    const rt = this.#rt;
    if (nameOrId instanceof Uint8Array) {
      if (nameOrId.byteLength !== 2) throw new TlsError('ERR_INVALID_ARGUMENT', 'a cipher suite id is 2 bytes');
      const ptr = rt.heap.withBytes(nameOrId, (id) => rt.shim.cipherFind(id));
      const cipher = rt.ciphers.cipher(ptr);
      if (!cipher) throw new TlsError('ERR_INVALID_ARGUMENT', `no cipher suite 0x${toHex(nameOrId)} in this build`);
      return cipher;
    }
    return resolveCipher(rt, nameOrId);
  }

  /** Memory of this instance, for leak checks from outside. */
  heapStats(): HeapStats {
    const rt = this.#rt;
    return { memoryBytes: rt.heap.u8.byteLength, inUseBytes: rt.shim.heapInUse() };
  }

  /** RAND_bytes: bytes from this instance's DRBG (seeded from the platform CSPRNG). */
  randomBytes(length: number): Uint8Array {
    const rt = this.#rt;
    if (!Number.isInteger(length) || length < 0 || length > 65536) {
      throw new TlsError('ERR_INVALID_ARGUMENT', 'randomBytes() takes a length from 0 to 65536');
    }
    const buf = rt.heap.alloc(length);
    try {
      if (!rt.shim.randomBytes(buf, length)) throw configError(rt, 'ERR_NO_CSPRNG', 'RAND_bytes failed');
      return rt.heap.copyOut(buf, length);
    } finally {
      rt.heap.cleanseFree(buf, length);
    }
  }

  /** @internal */
  get runtime(): Runtime {
    return this.#rt;
  }
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
