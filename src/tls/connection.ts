/**
 * TlsConnection: one SSL object over two memory BIOs, a sans-IO TLS engine.
 *
 *   bytes from the peer  -> feed()     -> OpenSSL -> read()   -> plaintext
 *   plaintext            -> write()    -> OpenSSL -> drain()  -> bytes to the peer
 *
 * Nothing here touches a network. After every handshake(), write(), shutdown() (and read(),
 * which may answer post-handshake messages), send what drain() returns.
 */
import type { Cipher, Digest } from '../core/cipher.js';
import { TlsError, decodeAlert, textOf, requireBytes, type TlsAlert, type TlsErrorCode } from '../core/errors.js';
import { Lifetime } from '../core/lifetime.js';
import type { BytePtr, IntPtr, Owned, SizeTPtr, SslPtr } from '../core/pointers.js';
import {
  CALLBACK_NAMES,
  checkCallback,
  pskImports,
  type PskCallbackKind,
  type PskCallbacks,
  type PskClientCallback,
  type PskFindSessionCallback,
  type PskServerCallback,
  type PskUseSessionCallback,
} from './psk.js';
import { SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN, classifyFailure } from './failure.js';
import { observerImports, type Observers } from './observers.js';
import { peekClientPsk } from './psk-digest.js';
import { configError, functionOf, reasonOf, takeErrors } from '../core/error-queue.js';
import type { Runtime } from '../core/runtime.js';
import { SslSession } from './session.js';

// SSL_get_error() values (openssl/ssl.h); the failure ones are in failure.ts.
const SSL_ERROR_NONE = 0;
const SSL_ERROR_WANT_READ = 2;
// SSL_get_shutdown() bits.
const SSL_SENT_SHUTDOWN = 1;
const SSL_RECEIVED_SHUTDOWN = 2;

/** One TLS record's worth of plaintext: the unit of read() and of write()'s copies. */
const RECORD_SIZE = 16384;

export type EarlyDataStatus = 'not-sent' | 'rejected' | 'accepted';
const EARLY_DATA_STATUS: EarlyDataStatus[] = ['not-sent', 'rejected', 'accepted'];

export interface EarlyDataRead {
  /** Early data received by this call, or null if none arrived. */
  data: Uint8Array | null;
  /** True once there is no more early data to read: go on with handshake(). */
  finished: boolean;
}

export interface ConnectionOptions {
  /**
   * Server name: sent as SNI (unless an IP address) and checked against the certificate
   * when a certificate-authenticated handshake is verified.
   */
  serverName?: string;
}

export class TlsConnection extends Lifetime {
  readonly role: 'client' | 'server';
  /** @internal */
  readonly pskCallbacks: PskCallbacks;
  /** @internal onKeylog and onMessage, copied from the context like the PSK callbacks. */
  readonly observers: Observers;
  /** @internal The PSK the use-session callback offered, for error messages. */
  offeredPsk: { identity: Uint8Array; digest: Digest } | null = null;
  /** @internal Why the server ignored the PSK it found, for error messages. */
  pskDigestNote: string | null = null;
  /** @internal Server: PSK identities in the last ClientHello. */
  identitiesOffered = 0;
  /** @internal True inside writeEarlyData(), for the use-session callback's checks. */
  writingEarlyData = false;
  /** @internal Put or keep the PSK's digest's suites first (ContextOptions.pskDigestFirst). */
  readonly pskDigestFirst: boolean;
  /** @internal The use-session callback's answer for its first call, asked ahead (psk-digest.ts). */
  peekedUseSession: { result: unknown } | { error: unknown } | null = null;
  /** @internal The find-session callback's answers for this ClientHello, asked ahead (psk-digest.ts). */
  readonly peekedFindSession = new Map<string, unknown>();
  /** @internal The same for the old-style server callback, by identity. */
  readonly peekedServerPsk = new Map<string, unknown>();

  readonly #rt: Runtime;
  readonly #ssl: SslPtr;
  /** Scratch memory for I/O: a size_t out-parameter, then one record of data. */
  readonly #io: Owned<BytePtr>;
  /** How much of #io has been handed to OpenSSL or written (cleansed on free: usually 16 KiB, a few hundred bytes for a handshake-only connection). */
  #ioUsed = 0;
  #identity: { ptr: Owned<BytePtr>; len: number } | null = null;
  /** Sessions handed over by the callbacks that made them: freed with this connection. */
  readonly #adopted: SslSession[] = [];
  #callbackError: TlsError | null = null;
  #observerError: unknown = undefined;
  #failure: TlsError | null = null;
  #inCallback = false;
  #inCall = false;
  #peeked = false;
  /** The handshake has completed once (post-handshake messages may put OpenSSL back "in init"). */
  #completed = false;

  /** @internal Use SslContext.createConnection(). */
  constructor(rt: Runtime, ssl: SslPtr, callbacks: PskCallbacks, observers: Observers, pskDigestFirst: boolean) {
    super('TlsConnection');
    this.#rt = rt;
    this.#ssl = ssl;
    this.pskCallbacks = { ...callbacks };
    this.observers = { ...observers };
    this.pskDigestFirst = pskDigestFirst;
    this.role = rt.shim.connIsServer(ssl) ? 'server' : 'client';
    try {
      this.#io = rt.heap.alloc(8 + RECORD_SIZE);
    } catch (error) {
      rt.shim.connFree(ssl);
      this.disown();
      throw error;
    }
    rt.connections.set(ssl, { ...pskImports(rt, this), ...observerImports(rt, this) });
  }

  /** @internal The SSL pointer, checked live. */
  get pointer(): SslPtr {
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

  #setCallback(kind: PskCallbackKind, cb: unknown, set: (ssl: SslPtr, on: number) => void): void {
    checkCallback(cb, kind);
    this.#assertNotInCallback();
    (this.pskCallbacks as Record<PskCallbackKind, unknown>)[kind] = cb;
    set(this.pointer, cb ? 1 : 0);
  }

  // ---- Settings before the handshake ----

  /** SSL_set_ciphersuites: the TLS 1.3 suites of this connection, in preference order. */
  setCiphersuites(list: string | readonly string[]): void {
    const text = Array.isArray(list) ? list.join(':') : list;
    if (typeof text !== 'string') throw new TlsError('ERR_INVALID_ARGUMENT', 'ciphersuites must be a string or an array of strings');
    const ok = this.#rt.heap.withCString(text, (s) => this.#rt.shim.connSetCiphersuites(this.pointer, s));
    if (!ok) throw configError(this.#rt, 'ERR_CONFIG', `ciphersuites ${JSON.stringify(text)} were refused`);
  }

  /** SSL_set_session: resume an earlier session (ticket or session ID). */
  setSession(session: SslSession): void {
    if (!(session instanceof SslSession)) throw new TlsError('ERR_INVALID_ARGUMENT', 'setSession() takes an SslSession');
    session.checkInstance(this.#rt);
    if (!this.#rt.shim.connSetSession(this.pointer, session.pointer)) {
      throw configError(this.#rt, 'ERR_CONFIG', 'SSL_set_session failed');
    }
  }

  /** @internal Applies ConnectionOptions. */
  configure(options: ConnectionOptions): void {
    if (options.serverName !== undefined) {
      const name = options.serverName;
      if (typeof name !== 'string' || name === '') throw new TlsError('ERR_INVALID_ARGUMENT', 'serverName must be a non-empty string');
      const ok = this.#rt.heap.withCString(name, (s) => this.#rt.shim.connSetHost(this.pointer, s));
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
      if (rt.shim.connFeed(this.pointer, this.#io, chunk.byteLength) !== chunk.byteLength) {
        throw new TlsError('ERR_OUT_OF_MEMORY', 'the read BIO could not take the bytes fed to it');
      }
    }
  }

  /** Tells OpenSSL the peer's byte stream has ended (transport closed). */
  feedEnd(): void {
    this.#rt.shim.connFeedEof(this.pointer);
  }

  /** Takes the bytes OpenSSL has produced for the peer (possibly none). */
  drain(): Uint8Array {
    const out = new Uint8Array(this.#rt.shim.connPendingOut(this.pointer));
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
    return this.#drainTo(target, Math.min(target.byteLength, rt.shim.connPendingOut(this.pointer)));
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
   */
  handshake(): 'done' | 'want-read' {
    const err = this.#engine(() => this.#rt.shim.connHandshake(this.#ssl));
    if (err === SSL_ERROR_NONE) {
      this.#handshakeComplete();
      return 'done';
    }
    if (err === SSL_ERROR_WANT_READ) return 'want-read';
    throw this.#fail(err);
  }

  /** True once the handshake has completed (SSL_is_init_finished). */
  get handshakeDone(): boolean {
    return this.#rt.shim.connIsInitFinished(this.pointer) === 1;
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
   * SSL_write_early_data (client, TLS 1.3): sends `plain` as 0-RTT data before the handshake
   * completes. Needs a PSK from the use-session callback whose session allows early data;
   * afterwards, handshake() as usual and check earlyDataStatus.
   */
  writeEarlyData(plain: Uint8Array): void {
    requireBytes(plain, 'writeEarlyData() input');
    const rt = this.#rt;
    const written = this.#io as number as SizeTPtr;
    this.#useIo(8);
    const err = this.#engine(() => {
      const ptr = rt.heap.copyIn(plain);
      this.writingEarlyData = true;
      try {
        return rt.shim.connWriteEarlyData(this.#ssl, ptr, plain.byteLength, written);
      } finally {
        this.writingEarlyData = false;
        rt.heap.cleanseFree(ptr, plain.byteLength); // plaintext, like everything read or written
      }
    });
    if (err === SSL_ERROR_NONE) return;
    throw this.#fail(err, 'ERR_EARLY_DATA');
  }

  /**
   * SSL_read_early_data (server, TLS 1.3): call before handshake() to accept early data.
   * Repeat until `finished`, feeding more bytes whenever it returns neither data nor finished.
   */
  readEarlyData(): EarlyDataRead {
    const nread = this.#io as number as SizeTPtr;
    const finished = (this.#io + 4) as IntPtr;
    const data = (this.#io + 8) as BytePtr;
    this.#useIo(8 + RECORD_SIZE);
    const err = this.#engine(() => this.#rt.shim.connReadEarlyData(this.#ssl, data, RECORD_SIZE, nread, finished));
    if (err === SSL_ERROR_NONE) {
      const n = this.#rt.heap.readSize(nread);
      return { data: n > 0 ? this.#rt.heap.copyOut(data, n) : null, finished: this.#rt.heap.readInt(finished) === 1 };
    }
    if (err === SSL_ERROR_WANT_READ) return { data: null, finished: false };
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
    return this.#rt.ciphers.cipher(this.#rt.shim.connCipher(this.pointer));
  }

  /**
   * The group of the peer's ephemeral key (SSL_get_peer_tmp_key): 'X25519', 'P-256', 'DH'
   * (TLS 1.2 DHE-PSK), or null when none was exchanged: TLS 1.3 psk_ke, TLS 1.2 plain PSK.
   */
  get keyExchangeGroup(): string | null {
    return this.#rt.heap.cString(this.#rt.shim.connKeyExchangeGroup(this.pointer));
  }

  /** SSL_session_reused: true after a TLS 1.3 PSK handshake and after a resumption. */
  get sessionReused(): boolean {
    return this.#rt.shim.connSessionReused(this.pointer) === 1;
  }

  /** SSL_get_early_data_status. */
  get earlyDataStatus(): EarlyDataStatus {
    return EARLY_DATA_STATUS[this.#rt.shim.connEarlyDataStatus(this.pointer)] ?? 'not-sent';
  }

  /** True once the peer's close_notify has been read. */
  get peerClosed(): boolean {
    return (this.#rt.shim.connShutdownState(this.pointer) & SSL_RECEIVED_SHUTDOWN) !== 0;
  }

  /** True once this side has sent close_notify. */
  get closeSent(): boolean {
    return (this.#rt.shim.connShutdownState(this.pointer) & SSL_SENT_SHUTDOWN) !== 0;
  }

  /** The last alert this side sent, if any. */
  get alertSent(): TlsAlert | undefined {
    return decodeAlert(this.#rt.shim.connAlert(this.pointer, 0), 'sent');
  }

  /** The last alert received from the peer, if any. */
  get alertReceived(): TlsAlert | undefined {
    return decodeAlert(this.#rt.shim.connAlert(this.pointer, 1), 'received');
  }

  /** Server, TLS 1.2: the identity the client sent (SSL_get_psk_identity). */
  get pskIdentity(): string | null {
    return this.#rt.heap.cString(this.#rt.shim.connPskIdentity(this.pointer));
  }

  /** Client, TLS 1.2: the identity hint the server sent (SSL_get_psk_identity_hint). */
  get pskIdentityHint(): string | null {
    return this.#rt.heap.cString(this.#rt.shim.connPskIdentityHint(this.pointer));
  }

  /** SSL_get1_session: the session, usable for resumption or as the basis of a PSK. */
  getSession(): SslSession | null {
    const ptr = this.#rt.shim.connGet1Session(this.pointer);
    return ptr === 0 ? null : new SslSession(this.#rt, ptr);
  }

  // ---- Internals ----

  /**
   * @internal Runs an application callback; calls back into this connection are refused. A
   * session the use-session or find-session callback made during this call and returns
   * becomes this connection's, freed with it (the man page's ownership; see session.ts).
   */
  runCallback<T>(kind: PskCallbackKind, fn: () => T): T {
    const rt = this.#rt;
    const outer = rt.callbackFrame;
    const frame = {};
    rt.callbackFrame = frame;
    this.#inCallback = true;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      throw new TlsError('ERR_PSK_CALLBACK', `the ${CALLBACK_NAMES[kind]} threw: ${textOf(error)}`, { cause: error });
    } finally {
      this.#inCallback = false;
      rt.callbackFrame = outer;
    }
    this.#takeOver(kind, result, frame);
    return result;
  }

  /** Adopts the session in a callback's result if that very call made it. */
  #takeOver(kind: PskCallbackKind, result: unknown, frame: object): void {
    let session: unknown;
    try {
      session = kind === 'findSession' ? result : kind === 'useSession' ? (result as { session?: unknown } | null)?.session : null;
      if (!(session instanceof SslSession)) return;
    } catch {
      return; // a result that cannot be inspected is refused later, with its own error
    }
    if (session.handOverIfMadeIn(frame)) this.#adopted.push(session);
  }

  /** @internal An observer threw: the engine call fails the connection once OpenSSL returns. */
  recordObserverError(error: unknown): void {
    if (this.#observerError === undefined) this.#observerError = error ?? new Error('undefined was thrown');
  }

  /** @internal The first callback failure is the one the handshake reports. */
  recordCallbackError(error: TlsError): void {
    this.#callbackError ??= error;
  }

  /** @internal Keeps the identity the use-session callback returned until the handshake ends. */
  holdPskIdentity(identity: Uint8Array): BytePtr {
    this.#releaseIdentity();
    const ptr = this.#rt.heap.copyIn(identity);
    this.#identity = { ptr, len: identity.byteLength };
    return ptr;
  }

  #releaseIdentity(): void {
    if (this.#identity) {
      this.#rt.heap.cleanseFree(this.#identity.ptr, this.#identity.len);
      this.#identity = null;
    }
  }

  /** "The memory pointed to by *id ... should be freed ... after the handshake is complete." */
  #handshakeComplete(): void {
    this.#completed = true;
    this.#releaseIdentity();
  }

  /** Runs one engine call: live, not re-entered, not already failed, traps contained. */
  #engine(fn: () => number): number {
    this.assertLive();
    this.#assertNotInCallback();
    if (this.#failure) throw this.#failure;
    if (this.#inCall) {
      throw new TlsError('ERR_REENTRANT', 'this connection is already inside a call; calls cannot nest');
    }
    this.#inCall = true;
    this.#callbackError = null;
    let result: number;
    try {
      if (!this.#peeked && this.role === 'client' && this.pskDigestFirst && this.#rt.shim.connInBefore(this.#ssl)) {
        this.#peeked = true;
        peekClientPsk(this.#rt, this);
      }
      result = fn();
    } finally {
      this.#inCall = false;
    }
    // An observer that threw ends the connection, but from the next call on: this call's
    // result (data read, bytes to drain) is still delivered, so nothing is lost.
    const observerError = this.#observerError;
    if (observerError !== undefined) {
      this.#observerError = undefined;
      this.#failure ??= new TlsError('ERR_CALLBACK', `an observer (onKeylog, onMessage or onNewSession) threw: ${textOf(observerError)}`, { cause: observerError });
    }
    return result;
  }

  /** @internal The first use-session answer if it was asked ahead; rethrows what it threw. */
  takePeekedUseSession(): { result: unknown } | null {
    const peeked = this.peekedUseSession;
    this.peekedUseSession = null;
    if (peeked && 'error' in peeked) throw peeked.error;
    return peeked;
  }

  #assertNotInCallback(): void {
    if (this.#inCallback) {
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

    const callbackError = this.#callbackError;
    this.#callbackError = null;
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
        pskOffered: this.offeredPsk !== null,
        serverHelloSeen: rt.shim.connPendingCipher(this.#ssl) !== 0,
        identitiesOffered: this.identitiesOffered,
        partialRecord: rt.shim.connHasPending(this.#ssl) === 1,
        digestMismatch: inHandshake ? this.#digestMismatch() : null,
        likelyDigestMismatch: inHandshake ? this.#likelyDigestMismatch() : null,
        codeHint,
        identityLength: this.offeredPsk?.identity.length ?? 0,
        construction: openssl.length ? functionOf(openssl[openssl.length - 1]!) : null,
      });
      error = new TlsError(code, message, details);
    }
    // After a fatal alert, or the end of the stream, OpenSSL can do nothing more on this
    // connection; later calls get this error again instead of an empty one.
    const ended = sslError === SSL_ERROR_SYSCALL && openssl.length === 0;
    if (alert?.level === 'fatal' || ended) this.#failure = error;
    return error;
  }

  /** A client that offered a PSK of one digest and got a suite of another, or a server that ignored one. */
  #digestMismatch(): string | null {
    if (this.pskDigestNote) return this.pskDigestNote;
    const offered = this.offeredPsk;
    if (!offered) return null;
    const chosen = this.#rt.ciphers.cipher(this.#rt.shim.connPendingCipher(this.#ssl)) ?? this.cipher;
    const digest = chosen?.handshakeDigest;
    if (!chosen || !digest || digest.name === offered.digest.name) return null;
    return (
      `the PSK uses ${offered.digest.name} but the server chose ${chosen.name} (${digest.name}), so it ignored the PSK; ` +
      `put ${offered.digest.name} suites first in ciphersuites, or offer only those`
    );
  }

  /**
   * A client whose handshake was refused before any ServerHello, having offered a PSK of one
   * digest with a first suite of another: the likely cause, since a server taking that suite
   * drops the PSK.
   */
  #likelyDigestMismatch(): string | null {
    const offered = this.offeredPsk;
    if (this.role !== 'client' || !offered || this.#rt.shim.connPendingCipher(this.#ssl) !== 0) return null;
    const first = this.#rt.ciphers.cipher(this.#rt.shim.connOfferedCipher(this.#ssl, 0));
    const digest = first?.handshakeDigest;
    if (!first || !digest || first.version !== 'TLSv1.3' || digest.name === offered.digest.name) return null;
    return (
      `the client offered a ${offered.digest.name} PSK but lists ${first.name} (${digest.name}) first; a server that ` +
      `picks that suite ignores the PSK (OpenSSL 1.1.1 and 3.0 do): put ${offered.digest.name} suites first in ciphersuites`
    );
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
    this.#releaseIdentity();
    rt.heap.cleanseFree(this.#io, this.#ioUsed);
    rt.shim.connFree(this.#ssl);
    this.peekedUseSession = null;
    this.peekedFindSession.clear();
    for (const session of this.#adopted.splice(0)) session.free();
  }
}
