/**
 * TlsConnection: one SSL object over two memory BIOs, a sans-IO TLS engine.
 *
 *   bytes from the peer  -> feed()     -> OpenSSL -> read()   -> plaintext
 *   plaintext            -> write()    -> OpenSSL -> drain()  -> bytes to the peer
 *
 * Nothing here touches a network. After every handshake(), write(), shutdown() (and read(),
 * which may answer post-handshake messages), send what drain() returns.
 *
 * A server whose context has deferPskLookup may also stop at 'want-psk': the handshake waits
 * for the PSKs of the identities in pskWanted, given with providePsk() (psk-lookup.ts).
 */
import type { Cipher, Digest } from '../core/cipher.js';
import { configError, functionOf, reasonOf, takeErrors } from '../core/error-queue.js';
import { TlsError, decodeAlert, requireBytes, textOf, type TlsAlert, type TlsErrorCode } from '../core/errors.js';
import type { ConnectionImports } from '../core/ffi-imports.js';
import { Lifetime } from '../core/lifetime.js';
import type { BytePtr, CStringPtr, DigestPtr, IntPtr, OutPtr, Owned, Ptr, SessionPtr, SizeTPtr, SslPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import { SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN, classifyFailure } from './failure.js';
import { ObserverDispatch, type ObserverImports, type Observers, type TlsMessage } from './observers.js';
import type { PskCallbackKind, PskCallbacks } from './psk-answers.js';
import { PskExchange, type PskImports } from './psk-exchange.js';
import { PskLookup, type PskAnswer } from './psk-lookup.js';
import type { KeyMaterial } from './secret.js';
import { utf8 } from '../core/heap.js';
import { SslSession } from './session.js';

// SSL_get_error() values (openssl/ssl.h); the failure ones are in failure.ts.
const SSL_ERROR_NONE = 0;
const SSL_ERROR_WANT_READ = 2;
/** The ClientHello callback suspended the handshake: here, a deferred PSK lookup waits for answers. */
const SSL_ERROR_WANT_CLIENT_HELLO_CB = 11;
// SSL_get_shutdown() bits.
const SSL_SENT_SHUTDOWN = 1;
const SSL_RECEIVED_SHUTDOWN = 2;

/** One TLS record's worth of plaintext: the unit of read() and of write()'s copies. */
const RECORD_SIZE = 16384;

/** SSL_get_early_data_status(): whether this connection's early data was sent, and its fate. */
export type EarlyDataStatus = 'not-sent' | 'rejected' | 'accepted';
const EARLY_DATA_STATUS: EarlyDataStatus[] = ['not-sent', 'rejected', 'accepted'];

/** What one readEarlyData() call got (SSL_read_early_data). */
export interface EarlyDataRead {
  /** Early data received by this call, or null if none arrived. */
  data: Uint8Array | null;
  /** True once there is no more early data to read: go on with handshake(). */
  finished: boolean;
  /**
   * True when the handshake waits for a PSK (deferPskLookup): answer pskWanted with
   * providePsk(), then call readEarlyData() again.
   */
  wantPsk: boolean;
}

/** What handshake() says: done, waiting for the peer's bytes, or (deferPskLookup) waiting for providePsk(). */
export type HandshakeState = 'done' | 'want-read' | 'want-psk';

/** SslContext.createConnection()'s options. */
export interface ConnectionOptions {
  /**
   * Server name: sent as SNI (unless an IP address) and checked against the certificate
   * when a certificate-authenticated handshake is verified.
   */
  serverName?: string;
}

/**
 * SSL_psk_use_session_cb_func (client, TLS 1.3). `md` is null on the first call; on a second
 * call (after a HelloRetryRequest) it is the digest of the suite the server chose, which the
 * PSK must match. Return the PSK's identity and session (return 1 with *sess set), `null` to
 * go on without a PSK (return 1 with *sess NULL), or `false` to fail (return 0; so does a throw).
 */
export type PskUseSessionCallback = (
  conn: TlsConnection,
  md: Digest | null,
) =>
  | {
      /** The PSK's identity, sent to the server. */
      identity: Uint8Array | string;
      /** The PSK as a session (createPskSession()). */
      session: SslSession;
    }
  | null
  | false;

/**
 * SSL_psk_client_cb_func (client, TLS 1.2; also TLS 1.3 when no use-session callback is set,
 * with `hint` null and a SHA-256 PSK). Return the identity and key, or `null` (return 0): under
 * TLS 1.2 the connection then fails; under TLS 1.3 it goes on without a PSK.
 */
export type PskClientCallback = (
  conn: TlsConnection,
  hint: string | null,
) => {
  /** The identity, sent to the server. */
  identity: string;
  /** The key. */
  psk: KeyMaterial;
} | null;

/**
 * SSL_psk_find_session_cb_func (server, TLS 1.3). Return the session for `identity`, `null`
 * for an unknown identity (the handshake goes on without this PSK), or `false` to fail.
 */
export type PskFindSessionCallback = (conn: TlsConnection, identity: Uint8Array) => SslSession | null | false;

/**
 * SSL_psk_server_cb_func (server, TLS 1.2; also TLS 1.3 when no find-session callback is set
 * or it found nothing, then as a SHA-256 PSK). Return the key, or `null` for an unknown identity.
 */
export type PskServerCallback = (conn: TlsConnection, identity: string) => KeyMaterial | null;

/** NSS key log line: "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>". A secret. */
export type KeylogCallback = (line: string, conn: TlsConnection) => void;
/** Each protocol message and record header sent or received (SSL_CTX_set_msg_callback); describeMessage() formats it. */
export type MessageCallback = (message: TlsMessage, conn: TlsConnection) => void;
/** A new session (TLS 1.3: each ticket received or sent); it is the callback's to keep or free(). */
export type NewSessionCallback = (session: SslSession, conn: TlsConnection) => void;

/**
 * An SSL with two memory BIOs: the sans-IO engine. feed() it the peer's bytes, call
 * handshake(), read() and write(), and send what drain() returns. Made by
 * SslContext.createConnection(); free() it when done.
 */
export class TlsConnection extends Lifetime {
  /** Which side of the handshake it takes. */
  readonly role: 'client' | 'server';
  readonly #rt: Runtime;
  readonly #ssl: SslPtr;
  /** Everything between the PSK callbacks and OpenSSL's calls to them. */
  readonly #psk: PskExchange<TlsConnection>;
  /** onKeylog, onMessage and onNewSession, copied from the context like the PSK callbacks. */
  readonly #observers: ObserverDispatch<TlsConnection>;
  /** Scratch memory for I/O: out-parameters (8 bytes), then one record of data. */
  readonly #io: Owned<BytePtr>;
  /** How much of #io has been handed to OpenSSL or written (cleansed on free: usually 16 KiB, a few hundred bytes for a handshake-only connection). */
  #ioUsed = 0;
  #failure: TlsError | null = null;
  #inCall = false;
  /** The handshake has completed once (post-handshake messages may put OpenSSL back "in init"). */
  #completed = false;

  /** @internal Use SslContext.createConnection(). */
  constructor(
    rt: Runtime,
    ssl: SslPtr,
    callbacks: PskCallbacks<TlsConnection>,
    observers: Observers<TlsConnection>,
    pskDigestFirst: boolean,
    deferPskLookup: { maxEarlyData: number } | null = null,
  ) {
    super('TlsConnection');
    this.#rt = rt;
    this.#ssl = ssl;
    this.role = rt.shim.connIsServer(ssl) ? 'server' : 'client';
    const lookup = deferPskLookup && this.role === 'server' ? new PskLookup(rt, deferPskLookup.maxEarlyData) : null;
    this.#psk = new PskExchange<TlsConnection>(rt, ssl, this, this.role === 'client', callbacks, pskDigestFirst, lookup);
    this.#observers = new ObserverDispatch<TlsConnection>(rt, this, observers);
    try {
      this.#io = rt.heap.alloc(8 + RECORD_SIZE);
    } catch (error) {
      rt.shim.connFree(ssl);
      this.disown();
      throw error;
    }
    rt.connections.set(ssl, new ImportsOfConnection(this.#psk, this.#observers));
  }

  /** The SSL pointer, checked live. */
  get #live(): SslPtr {
    this.assertLive();
    return this.#ssl;
  }

  // ---- PSK callbacks (SSL_set_psk_*_callback) ----

  /** SSL_set_psk_use_session_callback; null removes it. */
  setPskUseSessionCallback(cb: PskUseSessionCallback | null): void {
    this.#setCallback('useSession', cb, this.#rt.shim.connSetPskUseSessionCallback);
  }

  /** SSL_set_psk_client_callback; null removes it. */
  setPskClientCallback(cb: PskClientCallback | null): void {
    this.#setCallback('client', cb, this.#rt.shim.connSetPskClientCallback);
  }

  /** SSL_set_psk_find_session_callback; null removes it. */
  setPskFindSessionCallback(cb: PskFindSessionCallback | null): void {
    this.#setCallback('findSession', cb, this.#rt.shim.connSetPskFindSessionCallback);
  }

  /** SSL_set_psk_server_callback; null removes it. */
  setPskServerCallback(cb: PskServerCallback | null): void {
    this.#setCallback('server', cb, this.#rt.shim.connSetPskServerCallback);
  }

  #setCallback<K extends PskCallbackKind>(kind: K, cb: PskCallbacks<TlsConnection>[K] | null, set: (ssl: SslPtr, on: number) => void): void {
    this.assertLive();
    this.#assertNotInCallback();
    this.#psk.setCallback(kind, cb, set);
  }

  // ---- Settings before the handshake ----

  /** SSL_set_ciphersuites: the TLS 1.3 suites of this connection, in preference order. */
  setCiphersuites(list: string | readonly string[]): void {
    const text = Array.isArray(list) ? list.join(':') : list;
    if (typeof text !== 'string') throw new TlsError('ERR_INVALID_ARGUMENT', 'ciphersuites must be a string or an array of strings');
    const ok = this.#rt.heap.withCString(text, (s) => this.#rt.shim.connSetCiphersuites(this.#live, s));
    if (!ok) throw configError(this.#rt, 'ERR_CONFIG', `ciphersuites ${JSON.stringify(text)} were refused`);
  }

  /** SSL_set_session: resume an earlier session (ticket or session ID). */
  setSession(session: SslSession): void {
    if (!(session instanceof SslSession)) throw new TlsError('ERR_INVALID_ARGUMENT', 'setSession() takes an SslSession');
    session.checkInstance(this.#rt);
    if (!this.#rt.shim.connSetSession(this.#live, session.pointer)) {
      throw configError(this.#rt, 'ERR_CONFIG', 'SSL_set_session failed');
    }
  }

  /** @internal Applies ConnectionOptions. */
  configure(options: ConnectionOptions): void {
    if (options.serverName !== undefined) {
      const name = options.serverName;
      if (typeof name !== 'string' || name === '') throw new TlsError('ERR_INVALID_ARGUMENT', 'serverName must be a non-empty string');
      const ok = this.#rt.heap.withCString(name, (s) => this.#rt.shim.connSetHost(this.#live, s));
      if (!ok) throw configError(this.#rt, 'ERR_CONFIG', `serverName ${JSON.stringify(name)} was refused`);
    }
  }

  // ---- Bytes in and out ----

  /** Gives OpenSSL bytes received from the peer. They are all kept until read. */
  feed(bytes: Uint8Array): void {
    requireBytes(bytes, 'feed() input');
    if (bytes.byteLength === 0) return;
    const rt = this.#rt;
    for (let offset = 0; offset < bytes.byteLength; offset += RECORD_SIZE) {
      const chunk = bytes.subarray(offset, offset + RECORD_SIZE);
      this.#useIo(chunk.byteLength);
      rt.heap.u8.set(chunk, this.#io);
      if (rt.shim.connFeed(this.#live, this.#io, chunk.byteLength) !== chunk.byteLength) {
        throw new TlsError('ERR_OUT_OF_MEMORY', 'the read BIO could not take the bytes fed to it');
      }
    }
  }

  /** Tells OpenSSL the peer's byte stream has ended (transport closed). */
  feedEnd(): void {
    this.#rt.shim.connFeedEof(this.#live);
  }

  /** Takes the bytes OpenSSL has produced for the peer (possibly none). */
  drain(): Uint8Array {
    const out = new Uint8Array(this.#rt.shim.connPendingOut(this.#live));
    const filled = this.#drainTo(out, out.byteLength);
    return filled === out.byteLength ? out : out.subarray(0, filled);
  }

  /**
   * Like drain(), into `target` (a buffer you reuse): copies up to `target.byteLength` of the
   * bytes for the peer and returns how many; call again until it returns 0. Nothing is
   * allocated, which matters for throughput in browsers (see README, Performance).
   */
  drainInto(target: Uint8Array): number {
    requireBytes(target, 'drainInto() target');
    if (target.byteLength === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'drainInto() needs a target of at least one byte');
    const rt = this.#rt;
    return this.#drainTo(target, Math.min(target.byteLength, rt.shim.connPendingOut(this.#live)));
  }

  /** Moves `want` pending bytes (at most) from the write BIO into `target`, a record at a time. */
  #drainTo(target: Uint8Array, want: number): number {
    const rt = this.#rt;
    let filled = 0;
    while (filled < want) {
      const room = this.#useIo(Math.min(RECORD_SIZE, want - filled));
      const n = rt.shim.connDrain(this.#ssl, this.#io, room);
      if (n <= 0) break;
      target.set(rt.heap.u8.subarray(this.#io, this.#io + n), filled);
      filled += n;
    }
    return filled;
  }

  // ---- The TLS engine ----

  /**
   * SSL_do_handshake. 'done' when the handshake is complete; 'want-read' when OpenSSL needs
   * more bytes from the peer: drain(), send, feed() the answer, and call again.
   *
   * 'want-psk' (a server whose context has deferPskLookup): the ClientHello offers PSK
   * identities whose keys are not known yet. Look them up (pskWanted), answer with
   * providePsk(), or failPskLookup() if the lookup failed, and call handshake() again.
   */
  handshake(): HandshakeState {
    const err = this.#engine(() => this.#rt.shim.connHandshake(this.#ssl));
    if (err === SSL_ERROR_NONE) {
      this.#handshakeComplete();
      return 'done';
    }
    if (err === SSL_ERROR_WANT_READ) return 'want-read';
    if (err === SSL_ERROR_WANT_CLIENT_HELLO_CB && this.#psk.lookup?.waiting) return 'want-psk';
    throw this.#fail(err);
  }

  // ---- The deferred PSK lookup (server, ContextOptions.deferPskLookup) ----

  /**
   * While handshake() (or readEarlyData()) says the handshake waits for a PSK: the identities
   * offered in the ClientHello that have no answer yet, in the client's order (copies, one
   * Uint8Array each). Null when the handshake is not waiting.
   *
   * The handshake needs answers up to the first identity that has a PSK: answer them in order
   * and stop at the first PSK found (as OpenSSL asks a find-session callback); an identity
   * after it is never used. A TLS 1.3 server takes only one PSK, the first one the client
   * listed among those found.
   */
  get pskWanted(): Uint8Array[] | null {
    this.assertLive();
    return this.#psk.lookup?.wanted() ?? null;
  }

  /**
   * Answers the deferred lookup for one identity of pskWanted: its PSK as an SslSession
   * (a TLS 1.3 PSK session, e.g. createPskSession(); the connection takes a reference of its
   * own, so the session stays yours to free whenever you like), as `{ key, cipher? }` (the
   * connection makes the session, allowing the context's maxEarlyData, and frees it), or `null`
   * for an identity this server does not know. Then call handshake() again. If every
   * identity is answered null, the handshake fails with unknown_psk_identity
   * (ERR_PSK_UNKNOWN_IDENTITY), unless the server has a certificate to fall back on.
   */
  providePsk(identity: Uint8Array | string, answer: PskAnswer): void {
    this.assertLive();
    this.#assertNotInCallback();
    const lookup = this.#psk.lookup;
    if (!lookup) throw new TlsError('ERR_INVALID_ARGUMENT', 'providePsk() is for a server whose context has deferPskLookup: true');
    const bytes = typeof identity === 'string' ? utf8(identity) : identity;
    requireBytes(bytes, 'providePsk() identity');
    lookup.provide(bytes, answer);
  }

  /**
   * Ends a handshake waiting for a PSK because the lookup failed (a store that rejected or
   * timed out): the next handshake() sends internal_error to the client and throws
   * ERR_PSK_LOOKUP, with `cause` as its cause.
   */
  failPskLookup(cause: unknown): void {
    this.assertLive();
    this.#assertNotInCallback();
    const lookup = this.#psk.lookup;
    if (!lookup) throw new TlsError('ERR_INVALID_ARGUMENT', 'failPskLookup() is for a server whose context has deferPskLookup: true');
    const error =
      cause instanceof TlsError && cause.code === 'ERR_PSK_LOOKUP'
        ? cause
        : new TlsError('ERR_PSK_LOOKUP', `the PSK lookup failed: ${textOf(cause)}`, { cause });
    lookup.fail(error);
  }

  /** True once the handshake has completed (SSL_is_init_finished). */
  get handshakeDone(): boolean {
    return this.#rt.shim.connIsInitFinished(this.#live) === 1;
  }

  /**
   * SSL_read_ex: up to one record of plaintext, or null when none is available yet (feed
   * more) or the peer has closed (see peerClosed).
   */
  read(): Uint8Array | null {
    const data = (this.#io + 8) as BytePtr;
    const n = this.#readRecord(data, RECORD_SIZE);
    return n === null ? null : this.#rt.heap.copyOut(data, n);
  }

  /**
   * Like read(), into `target` (a buffer you reuse): SSL_read_ex of up to `target.byteLength`
   * bytes (at most one record). Returns how many, or null as read() does. Nothing is allocated.
   */
  readInto(target: Uint8Array): number | null {
    requireBytes(target, 'readInto() target');
    if (target.byteLength === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'readInto() needs a target of at least one byte');
    const data = (this.#io + 8) as BytePtr;
    const n = this.#readRecord(data, Math.min(target.byteLength, RECORD_SIZE));
    if (n !== null) target.set(this.#rt.heap.u8.subarray(data, data + n));
    return n;
  }

  /** SSL_read_ex of up to `max` bytes into `data` (in the connection's I/O buffer). */
  #readRecord(data: BytePtr, max: number): number | null {
    const nread = this.#io as number as SizeTPtr;
    this.#useIo(8 + max);
    const err = this.#engine(() => this.#rt.shim.connRead(this.#ssl, data, max, nread));
    if (err === SSL_ERROR_NONE) {
      this.#handshakeComplete();
      return this.#rt.heap.readSize(nread);
    }
    if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_ZERO_RETURN) return null;
    if (err === SSL_ERROR_WANT_CLIENT_HELLO_CB && this.#psk.lookup?.waiting) return null; // still waiting for providePsk()
    throw this.#fail(err);
  }

  /** SSL_write_ex: encrypts all of `plain` (in records of up to 16 KiB). Then drain(). */
  write(plain: Uint8Array): void {
    requireBytes(plain, 'write() input');
    this.#requireHandshake('write()');
    const written = this.#io as number as SizeTPtr;
    const data = (this.#io + 8) as BytePtr;
    for (let offset = 0; offset < plain.byteLength; offset += RECORD_SIZE) {
      const chunk = plain.subarray(offset, offset + RECORD_SIZE);
      this.#useIo(8 + chunk.byteLength);
      const err = this.#engine(() => {
        this.#rt.heap.u8.set(chunk, data);
        return this.#rt.shim.connWrite(this.#ssl, data, chunk.byteLength, written);
      });
      if (err !== SSL_ERROR_NONE) throw this.#fail(err);
    }
  }

  /**
   * SSL_write_early_data (TLS 1.3).
   *
   * Client: sends `plain` as 0-RTT data before the handshake completes. Needs a PSK from the
   * use-session callback whose session allows early data; afterwards, handshake() as usual and
   * check earlyDataStatus.
   *
   * Server: sends `plain` as 0.5-RTT data: after readEarlyData() has sent the server's flight
   * and before handshake() returns 'done', i.e. before the client's Finished has authenticated
   * the client. Such an answer may go to a replayed ClientHello (the caveat of accepting early
   * data at all). OpenSSL allows it whether the early data was accepted or not (check
   * earlyDataStatus); before readEarlyData() it throws ERR_EARLY_DATA. Once handshake() is
   * done, use write().
   */
  writeEarlyData(plain: Uint8Array): void {
    requireBytes(plain, 'writeEarlyData() input');
    const rt = this.#rt;
    const written = this.#io as number as SizeTPtr;
    this.#useIo(8);
    const err = this.#engine(() => {
      const ptr = rt.heap.copyIn(plain);
      try {
        return this.#psk.duringEarlyData(() => rt.shim.connWriteEarlyData(this.#ssl, ptr, plain.byteLength, written));
      } finally {
        rt.heap.cleanseFree(ptr, plain.byteLength); // plaintext, like everything read or written
      }
    });
    if (err === SSL_ERROR_NONE) return;
    throw this.#fail(err, 'ERR_EARLY_DATA');
  }

  /**
   * SSL_read_early_data (server, TLS 1.3): call before handshake() to accept early data.
   * Repeat until `finished`, feeding more bytes whenever it returns neither data nor finished
   * (nor `wantPsk`: then answer pskWanted first, as after handshake()'s 'want-psk').
   */
  readEarlyData(): EarlyDataRead {
    const nread = this.#io as number as SizeTPtr;
    const finished = (this.#io + 4) as IntPtr;
    const data = (this.#io + 8) as BytePtr;
    this.#useIo(8 + RECORD_SIZE);
    const err = this.#engine(() => this.#rt.shim.connReadEarlyData(this.#ssl, data, RECORD_SIZE, nread, finished));
    if (err === SSL_ERROR_NONE) {
      const n = this.#rt.heap.readSize(nread);
      return { data: n > 0 ? this.#rt.heap.copyOut(data, n) : null, finished: this.#rt.heap.readInt(finished) === 1, wantPsk: false };
    }
    if (err === SSL_ERROR_WANT_READ) return { data: null, finished: false, wantPsk: false };
    if (err === SSL_ERROR_WANT_CLIENT_HELLO_CB && this.#psk.lookup?.waiting) return { data: null, finished: false, wantPsk: true };
    throw this.#fail(err, 'ERR_EARLY_DATA');
  }

  /**
   * SSL_shutdown: sends close_notify ('sent'), or completes the closure if the peer's
   * close_notify has arrived ('complete'). Then drain().
   */
  shutdown(): 'sent' | 'complete' {
    this.#requireHandshake('shutdown()');
    const complete = this.#io as number as IntPtr;
    this.#useIo(4);
    const err = this.#engine(() => this.#rt.shim.connShutdown(this.#ssl, complete));
    if (err === SSL_ERROR_NONE) return this.#rt.heap.readInt(complete) === 1 ? 'complete' : 'sent';
    if (err === SSL_ERROR_WANT_READ) return 'sent';
    throw this.#fail(err);
  }

  // ---- What was negotiated ----

  /** SSL_get_version once the handshake is done ('TLSv1.3', 'TLSv1.2'), else null. */
  get protocol(): string | null {
    if (!this.handshakeDone) return null;
    return this.#rt.heap.cString(this.#rt.shim.connVersion(this.#ssl));
  }

  /** SSL_get_current_cipher. */
  get cipher(): Cipher | null {
    return this.#rt.ciphers.cipher(this.#rt.shim.connCipher(this.#live));
  }

  /**
   * The group of the peer's ephemeral key (SSL_get_peer_tmp_key): 'X25519', 'P-256', 'DH'
   * (TLS 1.2 DHE-PSK), or null when none was exchanged: TLS 1.3 psk_ke, TLS 1.2 plain PSK.
   */
  get keyExchangeGroup(): string | null {
    return this.#rt.heap.cString(this.#rt.shim.connKeyExchangeGroup(this.#live));
  }

  /** SSL_session_reused: true after a TLS 1.3 PSK handshake and after a resumption. */
  get sessionReused(): boolean {
    return this.#rt.shim.connSessionReused(this.#live) === 1;
  }

  /** SSL_get_early_data_status. */
  get earlyDataStatus(): EarlyDataStatus {
    return EARLY_DATA_STATUS[this.#rt.shim.connEarlyDataStatus(this.#live)] ?? 'not-sent';
  }

  /** True once the peer's close_notify has been read. */
  get peerClosed(): boolean {
    return (this.#rt.shim.connShutdownState(this.#live) & SSL_RECEIVED_SHUTDOWN) !== 0;
  }

  /** True once this side has sent close_notify. */
  get closeSent(): boolean {
    return (this.#rt.shim.connShutdownState(this.#live) & SSL_SENT_SHUTDOWN) !== 0;
  }

  /** The last alert this side sent, if any. */
  get alertSent(): TlsAlert | undefined {
    return decodeAlert(this.#rt.shim.connAlert(this.#live, 0), 'sent');
  }

  /** The last alert received from the peer, if any. */
  get alertReceived(): TlsAlert | undefined {
    return decodeAlert(this.#rt.shim.connAlert(this.#live, 1), 'received');
  }

  /** Server, TLS 1.2: the identity the client sent (SSL_get_psk_identity). */
  get pskIdentity(): string | null {
    return this.#rt.heap.cString(this.#rt.shim.connPskIdentity(this.#live));
  }

  /** Client, TLS 1.2: the identity hint the server sent (SSL_get_psk_identity_hint). */
  get pskIdentityHint(): string | null {
    return this.#rt.heap.cString(this.#rt.shim.connPskIdentityHint(this.#live));
  }

  /** SSL_get1_session: the session, usable for resumption or as the basis of a PSK. */
  getSession(): SslSession | null {
    const ptr = this.#rt.shim.connGet1Session(this.#live);
    return ptr === 0 ? null : new SslSession(this.#rt, ptr);
  }

  // ---- Internals ----

  #handshakeComplete(): void {
    this.#completed = true;
    this.#psk.handshakeComplete();
  }

  /** Runs one engine call: live, not re-entered, not already failed. */
  #engine(fn: () => number): number {
    this.assertLive();
    this.#assertNotInCallback();
    if (this.#failure) throw this.#failure;
    if (this.#inCall) {
      throw new TlsError('ERR_REENTRANT', 'this connection is already inside a call; calls cannot nest');
    }
    this.#inCall = true;
    let result: number;
    try {
      this.#psk.beforeEngineCall();
      result = fn();
    } finally {
      this.#inCall = false;
    }
    // An observer that threw ends the connection, but from the next call on: this call's
    // result (data read, bytes to drain) is still delivered, so nothing is lost.
    const thrown = this.#observers.takeThrown();
    if (thrown) {
      const cause = thrown.error ?? new Error('undefined was thrown');
      this.#failure ??= new TlsError('ERR_CALLBACK', `an observer (onKeylog, onMessage or onNewSession) threw: ${textOf(cause)}`, { cause });
    }
    return result;
  }

  #assertNotInCallback(): void {
    if (this.#psk.inCallback) {
      throw new TlsError('ERR_REENTRANT', 'a PSK callback cannot call back into its own connection; return, and act after the call');
    }
  }

  #requireHandshake(what: string): void {
    if (!this.handshakeDone) {
      throw new TlsError(
        'ERR_HANDSHAKE_INCOMPLETE',
        `${what} before the handshake finished: call handshake() (feeding the peer's bytes) until it returns 'done'`,
      );
    }
  }

  /** Turns an SSL_get_error() value into the TlsError to throw; fatal ones stick. */
  #fail(sslError: number, codeHint?: TlsErrorCode): TlsError {
    const rt = this.#rt;
    const openssl = takeErrors(rt);
    const received = this.alertReceived;
    const sent = this.alertSent;
    const alertReceived = received && received.code !== 0 ? received : undefined;
    const alertSent = sent && sent.code !== 0 ? sent : undefined;
    const alert = alertReceived ?? alertSent;
    const details = { openssl, ...(alert ? { alert } : {}) };

    const callbackError = this.#psk.takeCallbackError();
    if (sslError === SSL_ERROR_ZERO_RETURN && !callbackError) {
      return new TlsError('ERR_CLOSED', 'the peer closed the connection (close_notify)', details);
    }
    let error: TlsError;
    if (callbackError) {
      error = new TlsError(callbackError.code, `TLS handshake failed: ${callbackError.message}`, {
        ...details,
        cause: callbackError.cause ?? callbackError,
      });
    } else {
      const inHandshake = !this.#completed && !this.handshakeDone;
      const { code, message } = classifyFailure({
        sslError,
        role: this.role,
        inHandshake,
        reason: openssl.length ? reasonOf(openssl[openssl.length - 1]!) : null,
        alertReceived,
        alertSent,
        serverHelloSeen: rt.shim.connPendingCipher(this.#ssl) !== 0,
        partialRecord: rt.shim.connHasPending(this.#ssl) === 1,
        codeHint,
        construction: openssl.length ? functionOf(openssl[openssl.length - 1]!) : null,
        ...this.#psk.facts(inHandshake),
      });
      error = new TlsError(code, message, details);
    }
    // After a fatal alert, or the end of the stream, OpenSSL can do nothing more on this
    // connection; later calls get this error again instead of an empty one.
    const ended = sslError === SSL_ERROR_SYSCALL && openssl.length === 0;
    if (alert?.level === 'fatal' || ended) this.#failure = error;
    return error;
  }

  protected override beforeFree(): void {
    this.#assertNotInCallback();
    if (this.#inCall) throw new TlsError('ERR_REENTRANT', 'free() from inside a call on the same connection');
  }

  /** Notes that `bytes` of #io are about to hold data; returns `bytes`. */
  #useIo(bytes: number): number {
    if (bytes > this.#ioUsed) this.#ioUsed = bytes;
    return bytes;
  }

  protected release(): void {
    const rt = this.#rt;
    rt.connections.delete(this.#ssl);
    rt.heap.cleanseFree(this.#io, this.#ioUsed);
    rt.shim.connFree(this.#ssl);
    this.#psk.release();
  }
}

/** The shim's imports about one connection (ffi-imports.ts): its PSK exchange answers some, its observers the rest. */
class ImportsOfConnection implements ConnectionImports {
  constructor(
    private readonly psk: PskImports,
    private readonly observers: ObserverImports,
  ) {}

  pskUseSession(md: DigestPtr, id: OutPtr<BytePtr>, idlen: SizeTPtr, sess: OutPtr<SessionPtr>): number {
    return this.psk.pskUseSession(md, id, idlen, sess);
  }

  pskClient(hint: CStringPtr, identity: CStringPtr, maxIdentityLen: number, psk: BytePtr, maxPskLen: number): number {
    return this.psk.pskClient(hint, identity, maxIdentityLen, psk, maxPskLen);
  }

  pskFindSession(identity: BytePtr, identityLen: number, sess: OutPtr<SessionPtr>): number {
    return this.psk.pskFindSession(identity, identityLen, sess);
  }

  pskServer(identity: CStringPtr, psk: BytePtr, maxPskLen: number): number {
    return this.psk.pskServer(identity, psk, maxPskLen);
  }

  clientHello(): number {
    return this.psk.clientHello();
  }

  keylog(line: CStringPtr): void {
    this.observers.keylog(line);
  }

  newSession(session: SessionPtr): number {
    return this.observers.newSession(session);
  }

  message(writeP: number, version: number, contentType: number, buf: Ptr, len: number): void {
    this.observers.message(writeP, version, contentType, buf, len);
  }
}
