/**
 * Which TlsError a failed engine call becomes. One table, from what OpenSSL said (its reason),
 * the alerts on the wire, and what the connection knows (PSK offered, ServerHello seen,
 * identities offered, a partial record at the end of the stream). Each common failure gets a
 * code of its own on both sides of a connection between two instances of this library:
 *
 *   wrong PSK            ERR_PSK_WRONG_KEY         binder check / bad_record_mac / illegal_parameter
 *   unknown identity     ERR_PSK_UNKNOWN_IDENTITY  psk identity not found / unknown_psk_identity
 *   no shared suite      ERR_NO_SHARED_CIPHER      no shared cipher / handshake_failure
 *   version mismatch     ERR_PROTOCOL_VERSION      unsupported protocol / protocol_version
 *   stream ends early    ERR_RESET_IN_HANDSHAKE, ERR_RESET_IN_RECORD, ERR_TRUNCATED
 *
 * Other implementations reuse alerts, so against them the mapping is the likeliest reading:
 * an OpenSSL server answers an unknown TLS 1.3 identity with handshake_failure (here
 * ERR_NO_SHARED_CIPHER), GnuTLS with illegal_parameter (here ERR_PSK_WRONG_KEY). The
 * messages say so.
 */
import type { TlsAlert, TlsErrorCode } from '../core/errors.js';

// SSL_get_error() values (openssl/ssl.h).
export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;

export interface FailureFacts {
  sslError: number;
  role: 'client' | 'server';
  inHandshake: boolean;
  /** The reason of OpenSSL's last queued error, e.g. 'binder does not verify'. */
  reason: string | null;
  /** Alerts other than close_notify. */
  alertReceived: TlsAlert | undefined;
  alertSent: TlsAlert | undefined;
  /** Client: it offered a TLS 1.3 PSK. */
  pskOffered: boolean;
  /** Client: the server's ServerHello arrived (a suite was chosen). */
  serverHelloSeen: boolean;
  /** Server: PSK identities in the ClientHello. */
  identitiesOffered: number;
  /** The stream ended with part of a record still unread. */
  partialRecord: boolean;
  /** Certain: the PSK was dropped for its digest. */
  digestMismatch: string | null;
  /** Likely: a client whose first suite has another digest than its PSK. */
  likelyDigestMismatch: string | null;
  /** The operation's own code for failures without an alert (early data). */
  codeHint: TlsErrorCode | undefined;
  /** Client: the length of the TLS 1.3 PSK identity offered, if one was. */
  identityLength: number;
  /** The OpenSSL function of the last error, e.g. 'tls_construct_ctos_psk'. */
  construction: string | null;
}

/**
 * A TLS 1.3 identity shares the ClientHello's extensions, 65,535 bytes in all, with the
 * others (key share, server name, groups, a HelloRetryRequest's cookie, …): how long it may be
 * depends on them. This long always fits what this library sends; a longer identity that does
 * not fit fails in OpenSSL's tls_construct_ctos_psk, which says only "internal error".
 */
export const TLS13_IDENTITY_ALWAYS_FITS = 64000;

const WRONG_KEY_REASONS = new Set(['binder does not verify', 'decryption failed or bad record mac', 'bad record mac']);
const VERSION_REASONS = new Set([
  'unsupported protocol',
  'wrong version number',
  'version too low',
  'version too high',
  'unsupported ssl version',
  'tlsv1 alert protocol version',
  'no protocols available',
]);
const NO_CIPHER_REASONS = new Set(['no shared cipher', 'no ciphers available', 'no cipher match', 'no shared groups']);

const ALERT = { handshakeFailure: 40, illegalParameter: 47, badRecordMac: 20, decryptError: 51, protocolVersion: 70, unknownPskIdentity: 115 };

export function classifyFailure(f: FailureFacts): { code: TlsErrorCode; message: string } {
  const received = f.alertReceived;
  const sent = f.alertSent;
  const alertText = received ? `the peer sent alert ${received.name} (${received.code})` : sent ? `sent alert ${sent.name} (${sent.code})` : null;
  const what = [alertText, f.reason].filter(Boolean).join(': ') || `SSL_get_error ${f.sslError}`;

  if (f.sslError === SSL_ERROR_SYSCALL && !f.reason) {
    if (f.inHandshake) {
      return { code: 'ERR_RESET_IN_HANDSHAKE', message: 'the connection ended before the TLS handshake finished (reset, or closed by the peer)' };
    }
    if (f.partialRecord) {
      return { code: 'ERR_RESET_IN_RECORD', message: 'the connection ended in the middle of a TLS record: the peer was cut off or reset' };
    }
    return { code: 'ERR_TRUNCATED', message: "the peer's stream ended without close_notify: data may have been cut off" };
  }
  if (f.sslError === SSL_ERROR_WANT_WRITE) {
    return { code: 'ERR_PROTOCOL', message: 'OpenSSL wants to write but the memory BIO refused (out of memory?)' };
  }
  if (!f.inHandshake) {
    if (f.codeHint && !received && !sent) return { code: f.codeHint, message: earlyDataMessage(f.reason, what, f.role) };
    return { code: 'ERR_PROTOCOL', message: `TLS error: ${what}` };
  }

  const failed = (detail: string) => `TLS handshake failed: ${detail} (${what})`;
  const got = (code: number) => received?.code === code;
  if (f.role === 'client' && f.identityLength > TLS13_IDENTITY_ALWAYS_FITS && f.construction === 'tls_construct_ctos_psk') {
    return {
      code: 'ERR_PSK_IDENTITY_TOO_LONG',
      message: failed(
        `the PSK identity is ${f.identityLength} bytes, more than its ClientHello has room for: an identity shares the ` +
          `65,535 bytes of TLS extensions with the others (key share, server name, …); up to ${TLS13_IDENTITY_ALWAYS_FITS.toLocaleString('en-US')} bytes always fit`,
      ),
    };
  }
  if (f.digestMismatch) return { code: 'ERR_PSK_DIGEST_MISMATCH', message: failed(f.digestMismatch) };
  if (f.reason === 'certificate verify failed') {
    return { code: 'ERR_CERT_VERIFY', message: failed("the peer's certificate did not verify against the configured CA") };
  }
  if (f.role === 'client' && f.reason === 'psk identity not found') {
    return { code: 'ERR_PSK_CALLBACK', message: failed('the PSK client callback returned null: it has no PSK for this server') };
  }
  if (
    f.reason === 'psk identity not found' ||
    got(ALERT.unknownPskIdentity) ||
    (f.role === 'server' && f.identitiesOffered > 0 && f.reason === 'no suitable signature algorithm')
  ) {
    return {
      code: 'ERR_PSK_UNKNOWN_IDENTITY',
      message: failed(f.role === 'server' ? 'the client offered no PSK identity this server knows' : 'the server does not know this PSK identity'),
    };
  }
  if (
    (f.reason !== null && WRONG_KEY_REASONS.has(f.reason)) ||
    got(ALERT.badRecordMac) ||
    got(ALERT.decryptError) ||
    (got(ALERT.illegalParameter) && f.role === 'client' && f.pskOffered && !f.serverHelloSeen)
  ) {
    return {
      code: 'ERR_PSK_WRONG_KEY',
      message: failed(
        f.role === 'client' && got(ALERT.illegalParameter)
          ? 'the server rejected the PSK: its key differs (GnuTLS also answers an unknown identity this way)'
          : 'the PSKs of the two sides differ',
      ),
    };
  }
  if ((f.reason !== null && VERSION_REASONS.has(f.reason)) || got(ALERT.protocolVersion) || sent?.code === ALERT.protocolVersion) {
    return { code: 'ERR_PROTOCOL_VERSION', message: failed('the two sides allow no common TLS version (see minVersion and maxVersion)') };
  }
  if (got(ALERT.handshakeFailure) && f.likelyDigestMismatch) {
    return { code: 'ERR_PSK_DIGEST_MISMATCH', message: failed(`the server refused the handshake, probably because ${f.likelyDigestMismatch}`) };
  }
  if ((f.reason !== null && NO_CIPHER_REASONS.has(f.reason)) || got(ALERT.handshakeFailure)) {
    return {
      code: 'ERR_NO_SHARED_CIPHER',
      message: failed(
        f.role === 'server'
          ? 'the client offered no cipher suite (or group) this server allows'
          : 'the server found no acceptable cipher suite or group (an OpenSSL server also answers an unknown TLS 1.3 PSK identity this way)',
      ),
    };
  }
  if (f.codeHint && f.sslError === SSL_ERROR_SSL && !received && !sent) return { code: f.codeHint, message: earlyDataMessage(f.reason, what, f.role) };
  const likely = f.likelyDigestMismatch ? ` (probably ${f.likelyDigestMismatch})` : '';
  return { code: 'ERR_HANDSHAKE', message: `TLS handshake failed: ${what}${likely}` };
}

function earlyDataMessage(reason: string | null, what: string, role: 'client' | 'server'): string {
  if (reason === 'called a function you should not call' && role === 'server') {
    return (
      `0.5-RTT data is not possible on this connection now (${what}): a server writes early data only after readEarlyData() ` +
      'has sent its flight and before the handshake completes; otherwise call write() once handshake() returns done'
    );
  }
  if (reason === 'called a function you should not call') {
    return (
      `early data is not possible on this connection (${what}): it needs a TLS 1.3 PSK from the use-session callback ` +
      'whose session allows early data (maxEarlyData > 0), before the handshake; the TLS 1.2-style client callback cannot send early data'
    );
  }
  return `early data failed: ${what}`;
}
