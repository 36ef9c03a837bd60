/**
 * A server's deferred PSK lookup (ContextOptions.deferPskLookup): the state of a TLS 1.3
 * handshake that waits for the application to find the PSK of an identity, asynchronously.
 *
 * OpenSSL's PSK callbacks are synchronous, but its ClientHello callback may answer "retry"
 * (SSL_CLIENT_HELLO_RETRY): SSL_do_handshake then returns SSL_ERROR_WANT_CLIENT_HELLO_CB, and
 * the next SSL_do_handshake calls the ClientHello callback again on the same ClientHello. So:
 *
 *   ClientHello callback: an offered identity, in order, has no answer yet   -> retry
 *     handshake() returns 'want-psk'; pskWanted lists the identities without an answer
 *     the application calls providePsk(identity, answer) (or failPskLookup(cause)), then handshake()
 *   ClientHello callback, again: every identity up to the first one found has an answer
 *     -> go on; OpenSSL's find-session callback is answered from what was provided
 *
 * The lookup holds one reference of its own to each session provided (a session given as an
 * SslSession stays its giver's, one made from `{ key, cipher }` is the lookup's alone), and
 * frees them once the handshake is complete or its connection is freed.
 */
import type { Cipher } from '../core/cipher.js';
import { configError } from '../core/error-queue.js';
import { TlsError, describe } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';
import { findSessionAnswer } from './psk-answers.js';
import type { KeyMaterial } from './secret.js';
import { SslSession, resolveCipher } from './session.js';

/** The suite of a `{ key }` answer without one: a SHA-256 PSK, as `openssl s_server -psk`, GnuTLS and Node use. */
export const DEFAULT_PSK_CIPHER = 'TLS_AES_128_GCM_SHA256';

/**
 * A TLS 1.3 PSK given by its key: what providePsk() and findPsk may answer instead of an
 * SslSession. Its session allows the early data the context accepts (maxEarlyData): an
 * OpenSSL 1.1.1 server accepts early data with any PSK when its context allows early data, and
 * then fails the handshake ("too much early data") if the PSK's session allows less than the
 * client sends, so the session allows exactly what the context does.
 */
export interface PskKeyAnswer {
  /** The key: 1 to 48 bytes (OpenSSL 1.1.1's session limit), or a SecretKey. */
  key: KeyMaterial;
  /** A TLS 1.3 suite whose handshake digest is the PSK's (default 'TLS_AES_128_GCM_SHA256': SHA-256). */
  cipher?: string | Cipher;
}

/** What providePsk() takes for an identity: its PSK as a session or a key, or null for "unknown". */
export type PskAnswer = SslSession | PskKeyAnswer | null;

/** What the ClientHello callback is to do, after asking the lookup. */
export type LookupStep = 'go-on' | 'wait';

export class PskLookup {
  readonly #rt: Runtime;
  /** The identities of the ClientHello being looked up (copies), in the client's order. */
  #offered: Uint8Array[] = [];
  /** Answers by identity (identityKey): a session of the lookup's own, or null. */
  readonly #answers = new Map<string, SslSession | null>();
  /** True from a 'wait' until the handshake goes on past the ClientHello. */
  #waiting = false;
  /** failPskLookup()'s error, reported by the next ClientHello callback. */
  #failure: TlsError | null = null;

  /** The context's maxEarlyData: what a session made from a `{ key }` answer allows. */
  readonly #maxEarlyData: number;

  constructor(rt: Runtime, maxEarlyData: number) {
    this.#rt = rt;
    this.#maxEarlyData = maxEarlyData;
  }

  /** True while handshake() has returned 'want-psk' and the handshake has not gone on. */
  get waiting(): boolean {
    return this.#waiting;
  }

  /** The identities still wanted, in the client's order (copies); null when not waiting. */
  wanted(): Uint8Array[] | null {
    if (!this.#waiting) return null;
    return this.#offered.filter((id) => !this.#answers.has(identityKey(id))).map((id) => id.slice());
  }

  /** The error failPskLookup() gave, once (the ClientHello callback then fails the handshake). */
  takeFailure(): TlsError | null {
    const failure = this.#failure;
    this.#failure = null;
    return failure;
  }

  /**
   * In the ClientHello callback: 'wait' if an identity the handshake needs has no answer yet:
   * walking the identities in the client's order, one without an answer comes before any
   * identity whose answer is a PSK. `skip` tells identities that are not the lookup's to answer
   * (this server's own resumption tickets).
   */
  step(identities: Uint8Array[], skip: (identity: Uint8Array) => boolean): LookupStep {
    this.#offered = identities.filter((id) => !skip(id)).map((id) => id.slice());
    for (const identity of this.#offered) {
      const key = identityKey(identity);
      if (!this.#answers.has(key)) {
        this.#waiting = true;
        return 'wait';
      }
      if (this.#answers.get(key) !== null) break;
    }
    this.#waiting = false;
    return 'go-on';
  }

  /** The answer for `identity`, for OpenSSL's find-session callback (borrowed: the lookup keeps its reference). */
  answer(identity: Uint8Array): SslSession | null {
    return this.#answers.get(identityKey(identity)) ?? null;
  }

  /** providePsk(): checks and keeps the answer for one of the identities wanted. */
  provide(identity: Uint8Array, answer: PskAnswer): void {
    if (!this.#waiting) {
      throw new TlsError('ERR_INVALID_ARGUMENT', "providePsk() answers a handshake that waits for a PSK: call it after handshake() returned 'want-psk'");
    }
    const key = identityKey(identity);
    if (!this.#offered.some((id) => identityKey(id) === key)) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `providePsk() got an identity (${identity.length} bytes) the client did not offer; answer one of pskWanted`);
    }
    const session = answer === null ? null : this.#sessionOf(answer);
    this.#answers.get(key)?.free(); // an earlier answer for the same identity is replaced
    this.#answers.set(key, session);
  }

  /** failPskLookup(): the next handshake() fails with `error`, sending internal_error. */
  fail(error: TlsError): void {
    if (!this.#waiting) {
      throw new TlsError('ERR_INVALID_ARGUMENT', "failPskLookup() ends a handshake that waits for a PSK: call it after handshake() returned 'want-psk'");
    }
    this.#failure ??= error;
  }

  /** Once the handshake is complete, or with the connection: every session held is freed. */
  release(): void {
    for (const session of this.#answers.values()) session?.free();
    this.#answers.clear();
    this.#offered = [];
    this.#waiting = false;
    this.#failure = null;
  }

  /** A session of the lookup's own for an answer: a reference to a given session, or one made from a key. */
  #sessionOf(answer: SslSession | PskKeyAnswer): SslSession {
    const rt = this.#rt;
    if (answer instanceof SslSession) {
      const given = findSessionAnswer(rt, answer)!;
      if (given.protocolVersion !== 'TLSv1.3' || !given.cipher?.handshakeDigest || given.masterKeyLength === 0) {
        throw new TlsError('ERR_INVALID_ARGUMENT', 'providePsk() needs a TLS 1.3 PSK session (createPskSession()): version TLSv1.3, a suite and a master key');
      }
      // A reference of our own: the giver may free theirs at any time, even before handshake().
      if (!rt.shim.sessionUpRef(given.pointer)) throw configError(rt, 'ERR_CONFIG', 'SSL_SESSION_up_ref failed');
      return new SslSession(rt, given.pointer);
    }
    if (!answer || typeof answer !== 'object' || !('key' in answer)) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `a PSK answer is an SslSession, { key, cipher? } or null; got ${describe(answer)}`);
    }
    const cipher = resolveCipher(rt, answer.cipher ?? DEFAULT_PSK_CIPHER);
    if (cipher.version !== 'TLSv1.3') {
      throw new TlsError('ERR_INVALID_ARGUMENT', `${cipher.name} is not a TLS 1.3 suite; a PSK answer's cipher sets its digest and must be one`);
    }
    const session = new SslSession(rt, nonNull(rt, rt.shim.sessionNew()));
    try {
      session.setMasterKey(answer.key).setCipher(cipher).setProtocolVersion('TLSv1.3').setMaxEarlyData(this.#maxEarlyData);
    } catch (error) {
      session.free();
      throw error;
    }
    return session;
  }
}

function nonNull<T extends number>(rt: Runtime, ptr: T): T {
  if (ptr === 0) throw configError(rt, 'ERR_CONFIG', 'SSL_SESSION_new failed');
  return ptr;
}

/** The key under which an answer for an identity is kept (bytes as they are, one char each). */
function identityKey(identity: Uint8Array): string {
  let key = '';
  for (const b of identity) key += String.fromCharCode(b);
  return key;
}
