/**
 * The application's four PSK callbacks as the PSK exchange sees them (psk-exchange.ts): their
 * kinds, and their answers checked, once each, into typed answers. The callback types the API
 * documents, with the connection as first argument, are in connection.ts.
 */
import type { Digest } from '../core/cipher.js';
import { TlsError, describe } from '../core/errors.js';
import type { Runtime } from '../core/runtime.js';
import { utf8 } from '../core/heap.js';
import { SecretKey, type KeyMaterial } from './secret.js';
import { SslSession } from './session.js';

/** What each callback may return, as the API's types say (the value itself is still checked). */
export type UseSessionResult = { identity: Uint8Array | string; session: SslSession } | null | false;
export type ClientResult = { identity: string; psk: KeyMaterial } | null;
export type FindSessionResult = SslSession | null | false;
export type ServerResult = KeyMaterial | null;

/** A connection's (or a context's) PSK callbacks; `C` is what they get as the connection. */
export interface PskCallbacks<C> {
  useSession: ((conn: C, md: Digest | null) => UseSessionResult) | null;
  client: ((conn: C, hint: string | null) => ClientResult) | null;
  findSession: ((conn: C, identity: Uint8Array) => FindSessionResult) | null;
  server: ((conn: C, identity: string) => ServerResult) | null;
}

export type PskCallbackKind = keyof PskCallbacks<unknown>;

export const CALLBACK_NAMES: Record<PskCallbackKind, string> = {
  useSession: 'PSK use-session callback',
  client: 'PSK client callback',
  findSession: 'PSK find-session callback',
  server: 'PSK server callback',
};

export function checkCallback(cb: unknown, kind: PskCallbackKind): void {
  if (cb !== null && typeof cb !== 'function') {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the ${CALLBACK_NAMES[kind]} must be a function or null, got ${describe(cb)}`);
  }
}

/** A TLS 1.3 PSK to offer: the use-session callback's answer, checked. */
export interface OfferedPsk {
  identity: Uint8Array;
  session: SslSession;
  /** The handshake digest of the session's suite: the PSK's hash. */
  digest: Digest;
}

/** RFC 8446 §4.2.11: identity<1..2^16-1>. */
const MAX_TLS13_IDENTITY = 0xffff;
/** PSK_MAX_PSK_LEN: the size of the key buffer OpenSSL 1.1.1 hands both key callbacks. */
export const PSK_MAX_PSK_LEN = 256;

/** The use-session callback's answer: a PSK to offer, or null for none. Throws for false and for anything unusable. */
export function useSessionAnswer(rt: Runtime, result: UseSessionResult): OfferedPsk | null {
  if (result === false) {
    throw new TlsError('ERR_PSK_CALLBACK', 'the PSK use-session callback returned false, so connection setup fails');
  }
  if (result === null) return null;
  if (typeof result !== 'object' || !(result.session instanceof SslSession)) {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      `the PSK use-session callback must return { identity, session } with an SslSession, null or false; got ${describe(result)}`,
    );
  }
  const identity = identityBytes(result.identity, 'use-session');
  if (identity.length > MAX_TLS13_IDENTITY) {
    throw new TlsError('ERR_PSK_IDENTITY_TOO_LONG', `the PSK identity is ${identity.length} bytes; TLS 1.3 allows at most ${MAX_TLS13_IDENTITY}`);
  }
  const session = result.session;
  session.checkInstance(rt);
  void session.pointer; // throws ERR_USE_AFTER_FREE for a freed session
  if (session.protocolVersion !== 'TLSv1.3') {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      `the PSK session's protocol version is ${session.protocolVersion}; a TLS 1.3 PSK needs 'TLSv1.3' (SSL_SESSION_set_protocol_version)`,
    );
  }
  const digest = session.cipher?.handshakeDigest;
  if (!digest) {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'the PSK session has no TLS 1.3 cipher suite (SSL_SESSION_set_cipher)');
  }
  if (session.masterKeyLength === 0) {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'the PSK session has no master key (SSL_SESSION_set1_master_key)');
  }
  return { identity, session, digest };
}

/** The client callback's answer: its identity (NUL-free, fitting `maxIdentityLen` with the NUL) and key, or null. */
export function clientAnswer(rt: Runtime, result: ClientResult, maxIdentityLen: number, maxPskLen: number): { identity: Uint8Array; psk: KeyMaterial } | null {
  if (result === null) return null;
  if (typeof result !== 'object' || typeof result.identity !== 'string') {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK client callback must return { identity: string, psk: Uint8Array } or null; got ${describe(result)}`);
  }
  const identity = identityBytes(result.identity, 'client');
  if (identity.includes(0)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'the PSK identity contains a NUL byte, which a NUL-terminated identity cannot carry');
  }
  // The buffer holds max_identity_len bytes including the terminating NUL.
  if (identity.length + 1 > maxIdentityLen) {
    throw new TlsError(
      'ERR_PSK_IDENTITY_TOO_LONG',
      `the PSK identity is ${identity.length} bytes; the client callback's buffer takes at most ${maxIdentityLen - 1} plus the terminating NUL`,
    );
  }
  return { identity, psk: keyAnswer(rt, result.psk, maxPskLen, 'client') };
}

/** The find-session callback's answer: a live session of this instance, or null. Throws for false and for anything else. */
export function findSessionAnswer(rt: Runtime, result: FindSessionResult): SslSession | null {
  if (result === false) {
    throw new TlsError('ERR_PSK_CALLBACK', 'the PSK find-session callback returned false, so connection setup fails');
  }
  if (result === null) return null;
  if (!(result instanceof SslSession)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK find-session callback must return an SslSession, null or false; got ${describe(result)}`);
  }
  result.checkInstance(rt);
  void result.pointer; // throws ERR_USE_AFTER_FREE for a freed session
  return result;
}

/** The server callback's answer: a key of at most `max` bytes, or null. */
export function serverAnswer(rt: Runtime, result: ServerResult, max: number): KeyMaterial | null {
  return result === null ? null : keyAnswer(rt, result, max, 'server');
}

function keyAnswer(rt: Runtime, psk: unknown, max: number, which: string): KeyMaterial {
  if (psk instanceof SecretKey) {
    psk.checkInstance(rt);
  } else if (!(psk instanceof Uint8Array)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK ${which} callback's key must be a Uint8Array or SecretKey, got ${describe(psk)}`);
  }
  if (psk.length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK ${which} callback returned an empty key`);
  if (psk.length > max) {
    throw new TlsError('ERR_PSK_KEY_TOO_LONG', `the PSK is ${psk.length} bytes; OpenSSL takes at most ${max} (PSK_MAX_PSK_LEN)`);
  }
  return psk;
}

function identityBytes(identity: unknown, which: string): Uint8Array {
  const bytes = typeof identity === 'string' ? utf8(identity) : identity instanceof Uint8Array ? identity : null;
  if (!bytes) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK ${which} callback's identity must be a string or Uint8Array, got ${describe(identity)}`);
  }
  if (bytes.length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK ${which} callback returned an empty identity`);
  return bytes;
}
