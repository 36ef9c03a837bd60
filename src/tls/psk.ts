/**
 * The JavaScript side of the four PSK callback trampolines (wasm/shim/psk.c), and the
 * callback types that mirror the C contract one to one.
 *
 * OpenSSL calls these synchronously in the middle of a handshake step, so they never throw
 * back into wasm: an exception, or a result OpenSSL could only truncate or misread, becomes a
 * failure return, and the connection keeps the TlsError to throw from the handshake.
 */
import type { Digest } from '../core/cipher.js';
import type { TlsConnection } from './connection.js';
import { TlsError, describe, textOf, isTlsError } from '../core/errors.js';
import { utf8 } from '../core/heap.js';
import type { BytePtr, CStringPtr, DigestPtr, OutPtr, SessionPtr, SizeTPtr } from '../core/pointers.js';
import { identityKey, onClientHello } from './psk-digest.js';
import type { Runtime } from '../core/runtime.js';
import { SecretKey, type KeyMaterial } from './secret.js';
import { SslSession } from './session.js';

/**
 * SSL_psk_use_session_cb_func (client, TLS 1.3). `md` is null on the first call; on a second
 * call (after a HelloRetryRequest) it is the digest of the suite the server chose, which the
 * PSK must match. Return the PSK's identity and session (return 1 with *sess set), `null` to
 * go on without a PSK (return 1 with *sess NULL), or `false` to fail (return 0; so does a throw).
 */
export type PskUseSessionCallback = (
  conn: TlsConnection,
  md: Digest | null,
) => { identity: Uint8Array | string; session: SslSession } | null | false;

/**
 * SSL_psk_client_cb_func (client, TLS 1.2; also TLS 1.3 when no use-session callback is set,
 * with `hint` null and a SHA-256 PSK). Return the identity and key, or `null` (return 0): under
 * TLS 1.2 the connection then fails; under TLS 1.3 it goes on without a PSK.
 */
export type PskClientCallback = (
  conn: TlsConnection,
  hint: string | null,
) => { identity: string; psk: KeyMaterial } | null;

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

export interface PskCallbacks {
  useSession: PskUseSessionCallback | null;
  client: PskClientCallback | null;
  findSession: PskFindSessionCallback | null;
  server: PskServerCallback | null;
}

export type PskCallbackKind = keyof PskCallbacks;

export const CALLBACK_NAMES: Record<PskCallbackKind, string> = {
  useSession: 'PSK use-session callback',
  client: 'PSK client callback',
  findSession: 'PSK find-session callback',
  server: 'PSK server callback',
};

/** RFC 8446 §4.2.11: identity<1..2^16-1>. */
const MAX_TLS13_IDENTITY = 0xffff;
/**
 * Returned from the unsigned callbacks to make OpenSSL fail the handshake: anything above
 * PSK_MAX_PSK_LEN is a fatal internal error in both TLS 1.2 and TLS 1.3, whereas 0 means
 * "no PSK" and lets a TLS 1.3 handshake go on, which must not happen after a throw.
 */
export const FAIL_HANDSHAKE = 0xffffffff;
const ALERT_INTERNAL_ERROR = 80;

export function checkCallback(cb: unknown, kind: PskCallbackKind): void {
  if (cb !== null && typeof cb !== 'function') {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the ${CALLBACK_NAMES[kind]} must be a function or null, got ${describe(cb)}`);
  }
}

/** A connection's answers to the shim's PSK imports (ffi-imports.ts). */
export function pskImports(rt: Runtime, conn: TlsConnection) {
  return {
    pskUseSession: (md: DigestPtr, idOut: OutPtr<BytePtr>, idLenOut: SizeTPtr, sessOut: OutPtr<SessionPtr>) =>
      dispatch(conn, 'useSession', 0, (cb) => useSession(rt, conn, cb, md, idOut, idLenOut, sessOut)),
    pskClient: (hint: CStringPtr, identity: CStringPtr, maxIdentityLen: number, psk: BytePtr, maxPskLen: number) =>
      dispatch(conn, 'client', FAIL_HANDSHAKE, (cb) => client(rt, conn, cb, hint, identity, maxIdentityLen, psk, maxPskLen)),
    pskFindSession: (identity: BytePtr, identityLen: number, sessOut: OutPtr<SessionPtr>) =>
      dispatch(conn, 'findSession', 0, (cb) => findSession(rt, conn, cb, identity, identityLen, sessOut)),
    pskServer: (identity: CStringPtr, psk: BytePtr, maxPskLen: number) =>
      dispatch(conn, 'server', FAIL_HANDSHAKE, (cb) => server(rt, conn, cb, identity, psk, maxPskLen)),
    clientHello(): number {
      try {
        return onClientHello(rt, conn);
      } catch (error) {
        conn.recordCallbackError(toTlsError(error, 'findSession'));
        return ALERT_INTERNAL_ERROR;
      }
    },
  };
}

function dispatch<K extends PskCallbackKind>(
  conn: TlsConnection,
  kind: K,
  failure: number,
  run: (cb: NonNullable<PskCallbacks[K]>) => number,
): number {
  const cb = conn.pskCallbacks[kind];
  if (!cb) return failure; // the C callback is only installed alongside a JS one
  try {
    return run(cb as NonNullable<PskCallbacks[K]>);
  } catch (error) {
    conn.recordCallbackError(toTlsError(error, kind));
    return failure;
  }
}

/** Our own checks throw TlsErrors; the application's throws arrive wrapped by runCallback. Total. */
function toTlsError(error: unknown, kind: PskCallbackKind): TlsError {
  return isTlsError(error)
    ? error
    : new TlsError('ERR_PSK_CALLBACK', `the ${CALLBACK_NAMES[kind]} failed: ${textOf(error)}`, { cause: error });
}

function useSession(
  rt: Runtime,
  conn: TlsConnection,
  cb: PskUseSessionCallback,
  mdPtr: DigestPtr,
  idOut: OutPtr<BytePtr>,
  idLenOut: SizeTPtr,
  sessOut: OutPtr<SessionPtr>,
): number {
  const md = rt.ciphers.digest(mdPtr);
  const peeked = md === null ? conn.takePeekedUseSession() : null;
  const result = peeked ? (peeked.result as ReturnType<PskUseSessionCallback>) : conn.runCallback('useSession', () => cb(conn, md));
  if (result === false) {
    throw new TlsError('ERR_PSK_CALLBACK', 'the PSK use-session callback returned false, so connection setup fails');
  }
  if (result === null) {
    conn.offeredPsk = null;
    return 1;
  }
  if (typeof result !== 'object' || !(result.session instanceof SslSession)) {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      `the PSK use-session callback must return { identity, session } with an SslSession, null or false; got ${describe(result)}`,
    );
  }
  const identity = identityBytes(result.identity, 'use-session');
  if (identity.length > MAX_TLS13_IDENTITY) {
    throw new TlsError(
      'ERR_PSK_IDENTITY_TOO_LONG',
      `the PSK identity is ${identity.length} bytes; TLS 1.3 allows at most ${MAX_TLS13_IDENTITY}`,
    );
  }
  const session = result.session;
  session.checkInstance(rt);
  const sessionPtr = session.pointer; // throws ERR_USE_AFTER_FREE for a freed session
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
  // OpenSSL 1.1.1 fails with "cipher or hash unavailable" when asked to write early data
  // with a PSK that allows none; say what is wrong instead.
  if (conn.writingEarlyData && session.maxEarlyData === 0) {
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
  // The identity stays in memory the connection owns until the handshake completes.
  const idPtr = conn.holdPskIdentity(identity);
  rt.heap.writePointer(idOut, idPtr);
  rt.heap.writeSize(idLenOut, identity.length);
  rt.heap.writePointer(sessOut, sessionPtr);
  conn.offeredPsk = { identity, digest };
  return 1;
}

function client(
  rt: Runtime,
  conn: TlsConnection,
  cb: PskClientCallback,
  hintPtr: CStringPtr,
  identityPtr: CStringPtr,
  maxIdentityLen: number,
  pskPtr: BytePtr,
  maxPskLen: number,
): number {
  const hint = rt.heap.cString(hintPtr);
  const result = conn.runCallback('client', () => cb(conn, hint));
  if (result === null) return 0;
  if (typeof result !== 'object' || typeof result.identity !== 'string') {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      `the PSK client callback must return { identity: string, psk: Uint8Array } or null; got ${describe(result)}`,
    );
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
  const psk = checkKey(rt, result.psk, maxPskLen, 'client');
  // Called while building the ClientHello (no suite chosen yet), it is the TLS 1.3 path,
  // where OpenSSL takes the key as a SHA-256 PSK: remember that for error messages.
  if (rt.shim.connPendingCipher(conn.pointer) === 0) {
    conn.offeredPsk = { identity, digest: rt.ciphers.sha256() };
  }
  const u8 = rt.heap.u8;
  u8.set(identity, identityPtr);
  u8[identityPtr + identity.length] = 0;
  writeKey(rt, psk, pskPtr);
  return psk.length;
}

function findSession(
  rt: Runtime,
  conn: TlsConnection,
  cb: PskFindSessionCallback,
  identityPtr: BytePtr,
  identityLen: number,
  sessOut: OutPtr<SessionPtr>,
): number {
  const identity = rt.heap.copyOut(identityPtr, identityLen);
  const key = identityKey(identity);
  const result = conn.peekedFindSession.has(key)
    ? (conn.peekedFindSession.get(key) as ReturnType<PskFindSessionCallback>)
    : conn.runCallback('findSession', () => cb(conn, identity));
  conn.peekedFindSession.delete(key);
  if (result === false) {
    throw new TlsError('ERR_PSK_CALLBACK', 'the PSK find-session callback returned false, so connection setup fails');
  }
  if (result === null) return 1;
  if (!(result instanceof SslSession)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK find-session callback must return an SslSession, null or false; got ${describe(result)}`);
  }
  result.checkInstance(rt);
  const sessionPtr = result.pointer;
  // OpenSSL 1.1.1 chose the suite before asking for the PSK, and silently drops a PSK whose
  // digest differs from it; remember that, so a failing handshake can say why.
  const chosen = rt.ciphers.cipher(rt.shim.connPendingCipher(conn.pointer));
  const digest = result.cipher?.handshakeDigest;
  if (chosen?.handshakeDigest && digest && chosen.handshakeDigest.name !== digest.name) {
    conn.pskDigestNote =
      `the PSK found for the client's identity uses ${digest.name}, but the suite already chosen, ${chosen.name}, ` +
      `uses ${chosen.handshakeDigest.name}, so OpenSSL ignored the PSK; list ${digest.name} suites first in the client's ` +
      'ciphersuites, or allow only them on the server';
  }
  rt.heap.writePointer(sessOut, sessionPtr);
  return 1;
}

function server(
  rt: Runtime,
  conn: TlsConnection,
  cb: PskServerCallback,
  identityPtr: CStringPtr,
  pskPtr: BytePtr,
  maxPskLen: number,
): number {
  const identity = rt.heap.cString(identityPtr) ?? '';
  const peeked = conn.peekedServerPsk.has(identity);
  const result = peeked ? (conn.peekedServerPsk.get(identity) as ReturnType<PskServerCallback>) : conn.runCallback('server', () => cb(conn, identity));
  conn.peekedServerPsk.delete(identity);
  if (result === null) return 0;
  const psk = checkKey(rt, result, maxPskLen, 'server');
  writeKey(rt, psk, pskPtr);
  return psk.length;
}

/** Puts the key into OpenSSL's buffer; a SecretKey is copied within wasm memory only. */
function writeKey(rt: Runtime, psk: KeyMaterial, destination: BytePtr): void {
  if (psk instanceof SecretKey) psk.copyTo(destination);
  else rt.heap.u8.set(psk, destination);
}

function identityBytes(identity: unknown, which: string): Uint8Array {
  const bytes = typeof identity === 'string' ? utf8(identity) : identity instanceof Uint8Array ? identity : null;
  if (!bytes) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK ${which} callback's identity must be a string or Uint8Array, got ${describe(identity)}`);
  }
  if (bytes.length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', `the PSK ${which} callback returned an empty identity`);
  return bytes;
}

function checkKey(rt: Runtime, psk: unknown, max: number, which: string): KeyMaterial {
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
