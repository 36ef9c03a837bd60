/**
 * PSK digests and suite choice. A TLS 1.3 PSK is tied to one hash (SHA-256 or SHA-384), and
 * OpenSSL 1.1.1 handles that badly on both sides:
 * - a client writes its suite list into the ClientHello before it asks the use-session
 *   callback for the PSK, so it cannot put the PSK's suites first;
 * - a server picks the suite before it asks the find-session callback, then silently drops a
 *   PSK of another digest and falls back to certificates.
 * So with OpenSSL's own settings a SHA-384 PSK fails against most servers, and a SHA-256 PSK
 * fails against a server when the client lists TLS_AES_256_GCM_SHA384 first.
 *
 * With `pskDigestFirst` (the default), the facade asks the callback first instead:
 * - client: just before the first ClientHello it calls the use-session callback (the call
 *   with md NULL that OpenSSL would make a moment later, which then gets this answer), and
 *   moves the suites of the PSK's digest to the front of this connection's list;
 * - server: in the ClientHello callback, before the suite is chosen, it asks the find-session
 *   (then the old-style server) callback about the client's identities (OpenSSL's own calls
 *   then get these answers), and if one has a PSK, keeps only the suites of its digest,
 *   provided the client offers one.
 * Each callback is still called exactly once per ClientHello and identity, as OpenSSL would.
 */
import type { Cipher, Digest } from '../core/cipher.js';
import type { TlsConnection } from './connection.js';
import type { Borrowed, BytePtr, OutPtr, SslPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import { takeErrors } from '../core/error-queue.js';
import { TlsError } from '../core/errors.js';
import { SslSession } from './session.js';

const TLSEXT_TYPE_PSK = 41;

/** Client, before the first ClientHello: see the module comment. */
export function peekClientPsk(rt: Runtime, conn: TlsConnection): void {
  const ssl = conn.pointer;
  if (!rt.shim.connTls13Enabled(ssl)) return; // OpenSSL would not call the callback at all
  let digest: Digest | null = null;
  const useSession = conn.pskCallbacks.useSession;
  if (useSession) {
    try {
      const result = conn.runCallback('useSession', () => useSession(conn, null));
      conn.peekedUseSession = { result };
      if (result && typeof result === 'object' && result.session instanceof SslSession && !result.session.freed) {
        digest = result.session.cipher?.handshakeDigest ?? null;
      }
    } catch (error) {
      conn.peekedUseSession = { error };
      return;
    }
  } else if (conn.pskCallbacks.client) {
    digest = rt.ciphers.sha256(); // a TLS 1.2-style callback's PSK is SHA-256 under TLS 1.3
  }
  if (!digest) return;
  const suites = tls13Suites(rt, ssl);
  const first = [...suites.filter((c) => sameDigest(c, digest)), ...suites.filter((c) => !sameDigest(c, digest))];
  if (first.some((c, i) => c !== suites[i])) setSuites(rt, ssl, first);
}

/** unknown_psk_identity (RFC 4279; allowed in TLS 1.3 by RFC 8446 §6.2). */
const ALERT_UNKNOWN_PSK_IDENTITY = 115;

/**
 * Server, in the ClientHello callback (see the module comment). Also counts the identities
 * offered, and refuses with unknown_psk_identity when none is known and there is no
 * certificate to fall back on. Returns 0 to go on, or the alert to fail with.
 */
export function onClientHello(rt: Runtime, conn: TlsConnection): number {
  const ssl = conn.pointer;
  const identities = offeredIdentities(rt, ssl);
  conn.identitiesOffered = identities.length;
  conn.peekedFindSession.clear();
  conn.peekedServerPsk.clear();
  const { findSession, server } = conn.pskCallbacks;
  if (!conn.pskDigestFirst || identities.length === 0 || (!findSession && !server) || !rt.shim.connTls13Enabled(ssl)) return 0;

  // Ask the callbacks as OpenSSL will, identity by identity, stopping at the first answer.
  let digest: Digest | null = null;
  let answered = false;
  for (const identity of identities) {
    let result: unknown = null;
    if (findSession) {
      result = conn.runCallback('findSession', () => findSession(conn, identity));
      conn.peekedFindSession.set(identityKey(identity), result);
    }
    if (result === null && server && identity.length <= MAX_TLS12_IDENTITY) {
      const name = textUpToNul(identity); // what OpenSSL passes: the identity up to a NUL
      const key = conn.runCallback('server', () => server(conn, name));
      conn.peekedServerPsk.set(name, key);
      if (key !== null) {
        digest = rt.ciphers.sha256(); // an old-style server callback's PSK is SHA-256
        answered = true;
        break;
      }
    }
    if (result instanceof SslSession && !result.freed) digest = result.cipher?.handshakeDigest ?? null;
    if (result !== null) {
      answered = true; // a session, or something OpenSSL's own call will reject with a clear error
      break;
    }
  }
  if (!answered) {
    if (rt.shim.connHasCertificate(ssl)) return 0; // the man page's fallback: a certificate handshake
    // A resumption ticket is no callback's to know: OpenSSL decrypts it after asking them.
    if (identities.some((id) => rt.heap.withBytes(id, (p, n) => rt.shim.connMayBeOwnTicket(ssl, p, n)))) return 0;
    conn.recordCallbackError(
      new TlsError('ERR_PSK_UNKNOWN_IDENTITY', `the client offered ${identities.length} PSK identit${identities.length === 1 ? 'y' : 'ies'}, none known to this server (which has no certificate to fall back on)`),
    );
    return ALERT_UNKNOWN_PSK_IDENTITY;
  }
  if (!digest) return 0;
  const suites = tls13Suites(rt, ssl);
  const matching = suites.filter((c) => sameDigest(c, digest));
  if (matching.length === 0 || matching.length === suites.length) return 0;
  const offered = clientSuiteIds(rt, ssl);
  if (matching.some((c) => offered.has(c.id))) setSuites(rt, ssl, matching);
  return 0;
}

/** OpenSSL hands the old-style server callback identities of at most PSK_MAX_IDENTITY_LEN. */
const MAX_TLS12_IDENTITY = 128;

function textUpToNul(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** The key under which the find-session callback's answer for an identity is kept. */
export function identityKey(identity: Uint8Array): string {
  let key = '';
  for (const b of identity) key += String.fromCharCode(b);
  return key;
}

function sameDigest(cipher: Cipher, digest: Digest): boolean {
  return cipher.handshakeDigest?.name === digest.name;
}

/** The connection's TLS 1.3 suites in preference order (OpenSSL lists them first). */
function tls13Suites(rt: Runtime, ssl: SslPtr): Cipher[] {
  const suites: Cipher[] = [];
  for (let i = 0; ; i++) {
    const cipher = rt.ciphers.cipher(rt.shim.connOfferedCipher(ssl, i));
    if (!cipher || cipher.version !== 'TLSv1.3') return suites;
    suites.push(cipher);
  }
}

function setSuites(rt: Runtime, ssl: SslPtr, suites: Cipher[]): void {
  const list = suites.map((c) => c.name).join(':');
  if (!rt.heap.withCString(list, (s) => rt.shim.connSetCiphersuites(ssl, s))) takeErrors(rt);
}

/** The identities of the ClientHello's pre_shared_key extension (RFC 8446 §4.2.11). */
function offeredIdentities(rt: Runtime, ssl: SslPtr): Uint8Array[] {
  const { result: len, pointer } = rt.heap.withOutPointer((out: OutPtr<Borrowed<BytePtr>>) => rt.shim.connClientHelloExt(ssl, TLSEXT_TYPE_PSK, out));
  if (len < 2) return [];
  const ext = rt.heap.copyOut(pointer, len);
  const view = new DataView(ext.buffer);
  const end = Math.min(2 + view.getUint16(0), ext.length);
  const identities: Uint8Array[] = [];
  // identity<1..2^16-1> followed by a 4-byte obfuscated_ticket_age, repeated.
  for (let at = 2; at + 2 <= end; ) {
    const idLen = view.getUint16(at);
    if (at + 2 + idLen + 4 > end) break; // malformed: OpenSSL will reject the extension itself
    identities.push(ext.slice(at + 2, at + 2 + idLen));
    at += 2 + idLen + 4;
  }
  return identities;
}

function clientSuiteIds(rt: Runtime, ssl: SslPtr): Set<number> {
  const { result: len, pointer } = rt.heap.withOutPointer((out: OutPtr<Borrowed<BytePtr>>) => rt.shim.connClientHelloCiphers(ssl, out));
  const bytes = rt.heap.copyOut(pointer, len);
  const ids = new Set<number>();
  for (let i = 0; i + 1 < bytes.length; i += 2) ids.add((bytes[i]! << 8) | bytes[i + 1]!);
  return ids;
}
