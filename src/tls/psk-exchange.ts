/**
 * The PSK exchange of one connection: everything between the application's four PSK callbacks
 * and OpenSSL's calls to them (wasm/shim/psk.c). It owns its copy of the callbacks, their
 * answers asked ahead, the PSK offered, the identity lent to OpenSSL, what explains a PSK that
 * was dropped, and the first callback failure of an engine call, which the connection throws.
 *
 * OpenSSL calls the callbacks synchronously in the middle of a handshake step, so nothing here
 * throws back into wasm: an exception, or an answer OpenSSL could only truncate or misread,
 * becomes a failure return and the TlsError is kept for the connection to throw.
 *
 * PSK digests and suite choice. A TLS 1.3 PSK is tied to one hash (SHA-256 or SHA-384), and
 * OpenSSL 1.1.1 handles that badly on both sides:
 * - a client writes its suite list into the ClientHello before it asks the use-session
 *   callback for the PSK, so it cannot put the PSK's suites first;
 * - a server picks the suite before it asks the find-session callback, then silently drops a
 *   PSK of another digest and falls back to certificates.
 * So with OpenSSL's own settings a SHA-384 PSK fails against most servers, and a SHA-256 PSK
 * fails against a server when the client lists TLS_AES_256_GCM_SHA384 first.
 *
 * With `pskDigestFirst` (the default), the exchange asks the callback first instead:
 * - client: just before the first ClientHello it calls the use-session callback (the call
 *   with md NULL that OpenSSL would make a moment later, which then gets this answer), and
 *   moves the suites of the PSK's digest to the front of this connection's list;
 * - server: in the ClientHello callback, before the suite is chosen, it asks the find-session
 *   (then the old-style server) callback about the client's identities (OpenSSL's own calls
 *   then get these answers), and if one has a PSK, keeps only the suites of its digest,
 *   provided the client offers one.
 * Each callback is still called exactly once per ClientHello and identity, as OpenSSL would.
 * An answer asked ahead is checked right away (psk-answers.ts) and kept typed, or kept as the
 * error that checking it raised, which OpenSSL's own call then reports.
 *
 * A server with a deferred lookup (psk-lookup.ts) has no find-session or server callback of
 * the application's: the ClientHello callback first lets the lookup suspend the handshake
 * until every identity it needs has an answer, and the find-session callback is then one of
 * the exchange's own that answers from them.
 */
import type { Digest } from '../core/cipher.js';
import { TlsError, isTlsError, textOf } from '../core/errors.js';
import type { ConnectionImports } from '../core/ffi-imports.js';
import type { BytePtr, CStringPtr, DigestPtr, OutPtr, Owned, SessionPtr, SizeTPtr, SslPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import type { FailureFacts } from './failure.js';
import {
  CALLBACK_NAMES,
  PSK_MAX_PSK_LEN,
  checkCallback,
  clientAnswer,
  findSessionAnswer,
  serverAnswer,
  useSessionAnswer,
  type OfferedPsk,
  type PskCallbackKind,
  type PskCallbacks,
} from './psk-answers.js';
import { clientOffersTls13, keepDigestOnly, offeredIdentities, putDigestFirst } from './psk-digest.js';
import type { PskLookup } from './psk-lookup.js';
import { SecretKey, type KeyMaterial } from './secret.js';
import { SslSession } from './session.js';

/**
 * Returned from the unsigned callbacks to make OpenSSL fail the handshake: anything above
 * PSK_MAX_PSK_LEN is a fatal internal error in both TLS 1.2 and TLS 1.3, whereas 0 means
 * "no PSK" and lets a TLS 1.3 handshake go on, which must not happen after a throw.
 */
const FAIL_HANDSHAKE = 0xffffffff;
const ALERT_INTERNAL_ERROR = 80;
const ALERT_PROTOCOL_VERSION = 70;
/** What the ClientHello callback returns to suspend the handshake (OPW_CLIENT_HELLO_RETRY in opw.h). */
const CLIENT_HELLO_RETRY = -1;
/** unknown_psk_identity (RFC 4279; allowed in TLS 1.3 by RFC 8446 §6.2). */
const ALERT_UNKNOWN_PSK_IDENTITY = 115;
/** OpenSSL hands the old-style server callback identities of at most PSK_MAX_IDENTITY_LEN. */
const MAX_TLS12_IDENTITY = 128;

/** An answer asked ahead: checked, or the error that asking or checking it raised. */
type Asked<T> = { answer: T } | { error: unknown };

function ask<T>(fn: () => T): Asked<T> {
  try {
    return { answer: fn() };
  } catch (error) {
    return { error };
  }
}

function answerOf<T>(asked: Asked<T>): T {
  if ('error' in asked) throw asked.error;
  return asked.answer;
}

/** The imports of the shim a PSK exchange answers (ffi-imports.ts). */
export type PskImports = Pick<ConnectionImports, 'pskUseSession' | 'pskClient' | 'pskFindSession' | 'pskServer' | 'clientHello'>;

/** `C` is what the application's callbacks get as their connection (a TlsConnection). */
export class PskExchange<C> implements PskImports {
  readonly #rt: Runtime;
  readonly #ssl: SslPtr;
  readonly #conn: C;
  readonly #client: boolean;
  readonly #callbacks: PskCallbacks<C>;
  /** Put or keep the PSK's digest's suites first (ContextOptions.pskDigestFirst). */
  readonly #digestFirst: boolean;
  /** Client: the use-session callback's answer for its first call, asked ahead; null once used. */
  #askedUseSession: Asked<OfferedPsk | null> | null = null;
  #askedAhead = false;
  /** Server: the find-session and old-style server callbacks' answers for this ClientHello, by identity. */
  readonly #askedFindSession = new Map<string, Asked<SslSession | null>>();
  readonly #askedServer = new Map<string, Asked<KeyMaterial | null>>();
  /** Client: the PSK offered, for error messages. */
  #offered: { identity: Uint8Array; digest: Digest } | null = null;
  /** Server: why it ignored the PSK it found, for error messages. */
  #digestNote: string | null = null;
  /** Server: PSK identities in the last ClientHello. */
  #identitiesOffered = 0;
  /** The identity lent to OpenSSL until the handshake completes (the man page's *id). */
  #identity: { ptr: Owned<BytePtr>; len: number } | null = null;
  /** Sessions handed over by the callbacks that made them: freed with this connection. */
  readonly #adopted: SslSession[] = [];
  #callbackError: TlsError | null = null;
  /** Server: the deferred PSK lookup, if the context asked for one (then there is no application find-session or server callback). */
  readonly #lookup: PskLookup | null;
  #inCallback = false;
  #writingEarlyData = false;

  constructor(rt: Runtime, ssl: SslPtr, conn: C, client: boolean, callbacks: PskCallbacks<C>, digestFirst: boolean, lookup: PskLookup | null = null) {
    this.#rt = rt;
    this.#ssl = ssl;
    this.#conn = conn;
    this.#client = client;
    this.#callbacks = { ...callbacks };
    this.#digestFirst = digestFirst;
    this.#lookup = lookup;
    if (lookup) {
      // OpenSSL's find-session callback, answered from what the application provided.
      this.#callbacks.findSession = (_conn, identity) => lookup.answer(identity);
      this.#callbacks.server = null;
      rt.shim.connSetPskFindSessionCallback(ssl, 1);
      rt.shim.connSetPskServerCallback(ssl, 0);
    }
  }

  /** The deferred lookup's state (server, ContextOptions.deferPskLookup), or null. */
  get lookup(): PskLookup | null {
    return this.#lookup;
  }

  /** SSL_set_psk_*_callback: replaces one callback (null removes it). */
  setCallback<K extends PskCallbackKind>(kind: K, cb: PskCallbacks<C>[K] | null, set: (ssl: SslPtr, on: number) => void): void {
    checkCallback(cb, kind);
    if (this.#lookup && (kind === 'findSession' || kind === 'server')) {
      throw new TlsError(
        'ERR_INVALID_ARGUMENT',
        `this connection looks PSKs up asynchronously (deferPskLookup): it answers with providePsk(), not a ${CALLBACK_NAMES[kind]}`,
      );
    }
    this.#callbacks[kind] = cb as PskCallbacks<C>[K];
    set(this.#ssl, cb ? 1 : 0);
  }

  /** True while an application callback runs (it may not call back into its connection). */
  get inCallback(): boolean {
    return this.#inCallback;
  }

  /** Before each engine call: forgets the last one's callback failure; a client asks ahead before its first ClientHello. */
  beforeEngineCall(): void {
    this.#callbackError = null;
    if (!this.#askedAhead && this.#client && this.#digestFirst && this.#rt.shim.connInBefore(this.#ssl)) {
      this.#askedAhead = true;
      this.#askAheadAsClient();
    }
  }

  /** Runs `fn` (SSL_write_early_data) with the use-session answer checked for an early data allowance. */
  duringEarlyData<T>(fn: () => T): T {
    this.#writingEarlyData = true;
    try {
      return fn();
    } finally {
      this.#writingEarlyData = false;
    }
  }

  /** The first callback failure of the engine call just made, if any (then forgotten). */
  takeCallbackError(): TlsError | null {
    const error = this.#callbackError;
    this.#callbackError = null;
    return error;
  }

  /** "The memory pointed to by *id ... should be freed ... after the handshake is complete." */
  handshakeComplete(): void {
    this.#releaseIdentity();
    this.#lookup?.release();
  }

  /** What the exchange knows about a failed handshake (failure.ts). */
  facts(inHandshake: boolean): Pick<FailureFacts, 'pskOffered' | 'identitiesOffered' | 'identityLength' | 'digestMismatch' | 'likelyDigestMismatch'> {
    return {
      pskOffered: this.#offered !== null,
      identitiesOffered: this.#identitiesOffered,
      identityLength: this.#offered?.identity.length ?? 0,
      digestMismatch: inHandshake ? this.#digestMismatch() : null,
      likelyDigestMismatch: inHandshake ? this.#likelyDigestMismatch() : null,
    };
  }

  /** With its connection: the identity cleansed, answers forgotten, adopted sessions freed. */
  release(): void {
    this.#releaseIdentity();
    this.#lookup?.release();
    this.#askedUseSession = null;
    this.#askedFindSession.clear();
    this.#askedServer.clear();
    for (const session of this.#adopted.splice(0)) session.free();
  }

  // ---- The shim's imports: OpenSSL asking ----

  /** SSL_psk_use_session_cb_func (client, TLS 1.3). */
  pskUseSession(mdPtr: DigestPtr, idOut: OutPtr<BytePtr>, idLenOut: SizeTPtr, sessOut: OutPtr<SessionPtr>): number {
    return this.#answer('useSession', 0, (cb) => {
      const rt = this.#rt;
      const md = rt.ciphers.digest(mdPtr);
      const asked = md === null ? this.#askedUseSession : null; // the first call's, asked ahead
      if (md === null) this.#askedUseSession = null;
      const psk = asked
        ? answerOf(asked)
        : useSessionAnswer(
            rt,
            this.#run('useSession', () => cb(this.#conn, md)),
          );
      if (psk === null) {
        this.#offered = null;
        return 1;
      }
      const { identity, session, digest } = psk;
      // OpenSSL 1.1.1 fails with "cipher or hash unavailable" when asked to write early data
      // with a PSK that allows none; say what is wrong instead.
      if (this.#writingEarlyData && session.maxEarlyData === 0) {
        throw new TlsError(
          'ERR_EARLY_DATA',
          "writeEarlyData() with a PSK session that allows no early data: set the session's maxEarlyData " +
            '(SSL_SESSION_set_max_early_data) to send early data',
        );
      }
      if (md && md.name !== digest.name) {
        throw new TlsError(
          'ERR_PSK_DIGEST_MISMATCH',
          `the server chose a ${md.name} suite, but the PSK returned on the second call uses ${digest.name}: ` +
            'after a HelloRetryRequest the PSK must match the digest given in md',
        );
      }
      // The identity stays in memory this exchange owns until the handshake completes.
      rt.heap.writePointer(idOut, this.#holdIdentity(identity));
      rt.heap.writeSize(idLenOut, identity.length);
      rt.heap.writePointer(sessOut, session.pointer);
      this.#offered = { identity, digest };
      return 1;
    });
  }

  /** SSL_psk_client_cb_func (client, TLS 1.2; TLS 1.3 without a use-session callback). */
  pskClient(hintPtr: CStringPtr, identityPtr: CStringPtr, maxIdentityLen: number, pskPtr: BytePtr, maxPskLen: number): number {
    return this.#answer('client', FAIL_HANDSHAKE, (cb) => {
      const rt = this.#rt;
      const hint = rt.heap.cString(hintPtr);
      const answer = clientAnswer(
        rt,
        this.#run('client', () => cb(this.#conn, hint)),
        maxIdentityLen,
        maxPskLen,
      );
      if (answer === null) return 0;
      const { identity, psk } = answer;
      // Called while building the ClientHello (no suite chosen yet), it is the TLS 1.3 path,
      // where OpenSSL takes the key as a SHA-256 PSK: remember that for error messages.
      if (rt.shim.connPendingCipher(this.#ssl) === 0) this.#offered = { identity, digest: rt.ciphers.sha256() };
      const u8 = rt.heap.u8;
      u8.set(identity, identityPtr);
      u8[identityPtr + identity.length] = 0;
      this.#writeKey(psk, pskPtr);
      return psk.length;
    });
  }

  /** SSL_psk_find_session_cb_func (server, TLS 1.3). */
  pskFindSession(identityPtr: BytePtr, identityLen: number, sessOut: OutPtr<SessionPtr>): number {
    return this.#answer('findSession', 0, (cb) => {
      const rt = this.#rt;
      const identity = rt.heap.copyOut(identityPtr, identityLen);
      const key = identityKey(identity);
      const asked = this.#askedFindSession.get(key);
      this.#askedFindSession.delete(key);
      const session = asked
        ? answerOf(asked)
        : findSessionAnswer(
            rt,
            this.#run('findSession', () => cb(this.#conn, identity)),
          );
      if (session === null) return 1;
      // OpenSSL 1.1.1 chose the suite before asking for the PSK, and silently drops a PSK whose
      // digest differs from it; remember that, so a failing handshake can say why.
      const chosen = rt.ciphers.cipher(rt.shim.connPendingCipher(this.#ssl));
      const digest = session.cipher?.handshakeDigest;
      if (chosen?.handshakeDigest && digest && chosen.handshakeDigest.name !== digest.name) {
        this.#digestNote =
          `the PSK found for the client's identity uses ${digest.name}, but the suite already chosen, ${chosen.name}, ` +
          `uses ${chosen.handshakeDigest.name}, so OpenSSL ignored the PSK; list ${digest.name} suites first in the client's ` +
          'ciphersuites, or allow only them on the server';
      }
      rt.heap.writePointer(sessOut, session.pointer);
      return 1;
    });
  }

  /** SSL_psk_server_cb_func (server, TLS 1.2; TLS 1.3 when no find-session answer). */
  pskServer(identityPtr: CStringPtr, pskPtr: BytePtr, maxPskLen: number): number {
    return this.#answer('server', FAIL_HANDSHAKE, (cb) => {
      const identity = this.#rt.heap.cString(identityPtr) ?? '';
      const asked = this.#askedServer.get(identity);
      this.#askedServer.delete(identity);
      const psk = asked
        ? answerOf(asked)
        : serverAnswer(
            this.#rt,
            this.#run('server', () => cb(this.#conn, identity)),
            maxPskLen,
          );
      if (psk === null) return 0;
      this.#writeKey(psk, pskPtr);
      return psk.length;
    });
  }

  /**
   * Server, in the ClientHello callback (see the module comment). Also counts the identities
   * offered, and refuses with unknown_psk_identity when none is known and there is no
   * certificate to fall back on. Returns 0 to go on, or the alert to fail with.
   */
  clientHello(): number {
    try {
      if (this.#lookup) {
        const step = this.#lookupStep(this.#lookup);
        if (step !== 0) return step;
      }
      return this.#askAheadAsServer();
    } catch (error) {
      this.#recordError(toTlsError(error, 'findSession'));
      return ALERT_INTERNAL_ERROR;
    }
  }

  // ---- The deferred lookup ----

  /**
   * Server with a deferred lookup, in the ClientHello callback: fails the handshake if the
   * lookup failed or the ClientHello is TLS 1.2 (whose PSK OpenSSL 1.1.1 asks for in the
   * middle of ClientKeyExchange, where nothing can wait), suspends it while an identity needed
   * has no answer, and otherwise goes on (0).
   */
  #lookupStep(lookup: PskLookup): number {
    const failure = lookup.takeFailure();
    if (failure) {
      this.#recordError(failure);
      return ALERT_INTERNAL_ERROR;
    }
    const rt = this.#rt;
    const ssl = this.#ssl;
    if (!rt.shim.connTls13Enabled(ssl) || !clientOffersTls13(rt, ssl)) {
      if (rt.shim.connHasCertificate(ssl)) return 0; // a certificate handshake needs no PSK
      this.#recordError(
        new TlsError(
          'ERR_PROTOCOL_VERSION',
          'the client offered TLS 1.2 only, and this server looks PSKs up asynchronously (findPsk, deferPskLookup), which ' +
            'works for TLS 1.3 only: OpenSSL 1.1.1 asks for a TLS 1.2 PSK in the middle of the handshake, where it cannot wait. ' +
            'Have the client allow TLS 1.3, or serve TLS 1.2 clients with the synchronous psk or pskServer options',
        ),
      );
      return ALERT_PROTOCOL_VERSION;
    }
    const ownTicket = (id: Uint8Array) => rt.heap.withBytes(id, (p, n) => rt.shim.connMayBeOwnTicket(ssl, p, n)) === 1;
    return lookup.step(offeredIdentities(rt, ssl), ownTicket) === 'wait' ? CLIENT_HELLO_RETRY : 0;
  }

  // ---- Asking ahead ----

  /** Client, before the first ClientHello: see the module comment. */
  #askAheadAsClient(): void {
    const rt = this.#rt;
    if (!rt.shim.connTls13Enabled(this.#ssl)) return; // OpenSSL would not call the callback at all
    let digest: Digest | null = null;
    const useSession = this.#callbacks.useSession;
    if (useSession) {
      const asked = ask(() =>
        useSessionAnswer(
          rt,
          this.#run('useSession', () => useSession(this.#conn, null)),
        ),
      );
      this.#askedUseSession = asked;
      if ('error' in asked) return;
      digest = asked.answer?.digest ?? null;
    } else if (this.#callbacks.client) {
      digest = rt.ciphers.sha256(); // a TLS 1.2-style callback's PSK is SHA-256 under TLS 1.3
    }
    if (digest) putDigestFirst(rt, this.#ssl, digest);
  }

  #askAheadAsServer(): number {
    const rt = this.#rt;
    const ssl = this.#ssl;
    const identities = offeredIdentities(rt, ssl);
    this.#identitiesOffered = identities.length;
    this.#askedFindSession.clear();
    this.#askedServer.clear();
    const { findSession, server } = this.#callbacks;
    if (!this.#digestFirst || identities.length === 0 || (!findSession && !server) || !rt.shim.connTls13Enabled(ssl)) return 0;

    // Ask the callbacks as OpenSSL will, identity by identity, stopping at the first answer
    // (a PSK, or something OpenSSL's own call will refuse with a clear error).
    let digest: Digest | null = null;
    let answered = false;
    for (const identity of identities) {
      let found: Asked<SslSession | null> = { answer: null };
      if (findSession) {
        const result = this.#run('findSession', () => findSession(this.#conn, identity));
        found = ask(() => findSessionAnswer(rt, result));
        this.#askedFindSession.set(identityKey(identity), found);
      }
      if ('answer' in found && found.answer === null && server && identity.length <= MAX_TLS12_IDENTITY) {
        const name = textUpToNul(identity); // what OpenSSL passes: the identity up to a NUL
        const result = this.#run('server', () => server(this.#conn, name));
        const key = ask(() => serverAnswer(rt, result, PSK_MAX_PSK_LEN));
        this.#askedServer.set(name, key);
        if (!('answer' in key) || key.answer !== null) {
          if ('answer' in key) digest = rt.ciphers.sha256(); // an old-style server callback's PSK is SHA-256
          answered = true;
          break;
        }
      }
      if (!('answer' in found) || found.answer !== null) {
        if ('answer' in found) digest = found.answer?.cipher?.handshakeDigest ?? null;
        answered = true;
        break;
      }
    }
    if (!answered) {
      if (rt.shim.connHasCertificate(ssl)) return 0; // the man page's fallback: a certificate handshake
      // A resumption ticket is no callback's to know: OpenSSL decrypts it after asking them.
      if (identities.some((id) => rt.heap.withBytes(id, (p, n) => rt.shim.connMayBeOwnTicket(ssl, p, n)))) return 0;
      this.#recordError(
        new TlsError(
          'ERR_PSK_UNKNOWN_IDENTITY',
          `the client offered ${identities.length} PSK identit${identities.length === 1 ? 'y' : 'ies'}, none known to this server (which has no certificate to fall back on)`,
        ),
      );
      return ALERT_UNKNOWN_PSK_IDENTITY;
    }
    if (digest) keepDigestOnly(rt, ssl, digest);
    return 0;
  }

  // ---- Calling the application ----

  /** Answers one of OpenSSL's calls: `failure` if there is no callback, or if answering fails (kept). */
  #answer<K extends PskCallbackKind>(kind: K, failure: number, run: (cb: NonNullable<PskCallbacks<C>[K]>) => number): number {
    const cb = this.#callbacks[kind];
    if (!cb) return failure; // the C callback is only installed alongside a JS one
    try {
      return run(cb as NonNullable<PskCallbacks<C>[K]>);
    } catch (error) {
      this.#recordError(toTlsError(error, kind));
      return failure;
    }
  }

  /**
   * Runs an application callback; calls back into this connection are refused meanwhile. A
   * session the use-session or find-session callback made during this call and returns
   * becomes this connection's, freed with it (the man page's ownership; see session.ts).
   */
  #run<T>(kind: PskCallbackKind, fn: () => T): T {
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
    this.#adopt(kind, result, frame);
    return result;
  }

  /** Adopts the session in a callback's result if that very call made it. */
  #adopt(kind: PskCallbackKind, result: unknown, frame: object): void {
    let session: unknown;
    try {
      session = kind === 'findSession' ? result : kind === 'useSession' ? (result as { session?: unknown } | null)?.session : null;
      if (!(session instanceof SslSession)) return;
    } catch {
      return; // a result that cannot be inspected is refused later, with its own error
    }
    if (session.handOverIfMadeIn(frame)) this.#adopted.push(session);
  }

  /** The first callback failure is the one the handshake reports. */
  #recordError(error: TlsError): void {
    this.#callbackError ??= error;
  }

  // ---- Memory lent to OpenSSL ----

  #holdIdentity(identity: Uint8Array): Owned<BytePtr> {
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

  /** Puts the key into OpenSSL's buffer; a SecretKey is copied within wasm memory only. */
  #writeKey(psk: KeyMaterial, destination: BytePtr): void {
    if (psk instanceof SecretKey) psk.copyTo(destination);
    else this.#rt.heap.u8.set(psk, destination);
  }

  // ---- Why a PSK was dropped ----

  /** A client that offered a PSK of one digest and got a suite of another, or a server that ignored one. */
  #digestMismatch(): string | null {
    if (this.#digestNote) return this.#digestNote;
    const offered = this.#offered;
    if (!offered) return null;
    const rt = this.#rt;
    const chosen = rt.ciphers.cipher(rt.shim.connPendingCipher(this.#ssl)) ?? rt.ciphers.cipher(rt.shim.connCipher(this.#ssl));
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
    const offered = this.#offered;
    const rt = this.#rt;
    if (!this.#client || !offered || rt.shim.connPendingCipher(this.#ssl) !== 0) return null;
    const first = rt.ciphers.cipher(rt.shim.connOfferedCipher(this.#ssl, 0));
    const digest = first?.handshakeDigest;
    if (!first || !digest || first.version !== 'TLSv1.3' || digest.name === offered.digest.name) return null;
    return (
      `the client offered a ${offered.digest.name} PSK but lists ${first.name} (${digest.name}) first; a server that ` +
      `picks that suite ignores the PSK (OpenSSL 1.1.1 and 3.0 do): put ${offered.digest.name} suites first in ciphersuites`
    );
  }
}

/** Our own checks throw TlsErrors; the application's throws arrive wrapped by #run. Total. */
function toTlsError(error: unknown, kind: PskCallbackKind): TlsError {
  return isTlsError(error) ? error : new TlsError('ERR_PSK_CALLBACK', `the ${CALLBACK_NAMES[kind]} failed: ${textOf(error)}`, { cause: error });
}

/** The key under which an answer for an identity is kept (bytes as they are, one char each). */
function identityKey(identity: Uint8Array): string {
  let key = '';
  for (const b of identity) key += String.fromCharCode(b);
  return key;
}

function textUpToNul(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}
