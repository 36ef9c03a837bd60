/**
 * The one error type of the library. `code` is stable and documented in README; `message`
 * says what happened and what to do; `openssl` holds OpenSSL's error queue as text.
 */
import type { HandshakeStep } from './handshake-step.js';

/** Every code a {@link TlsError} can carry. */
export type TlsErrorCode =
  /** An argument is of the wrong type or out of range. */
  | 'ERR_INVALID_ARGUMENT'
  /** OpenSSL refused a setting: unknown suite or group, bad version range, … */
  | 'ERR_CONFIG'
  /** A PEM certificate, private key or CA could not be loaded. */
  | 'ERR_CERTIFICATE'
  /** Certificates (`certificate`, `privateKey`, `ca`) asked of the PSK build: import `openssl-psk-wasm/full`. */
  | 'ERR_FULL_BUILD_REQUIRED'
  /** A PSK callback threw (the error is the `cause`) or returned failure. */
  | 'ERR_PSK_CALLBACK'
  /** An observer (onKeylog, onMessage, onNewSession) threw (the error is the `cause`). */
  | 'ERR_CALLBACK'
  /** A PSK identity longer than OpenSSL can carry; it is never truncated. */
  | 'ERR_PSK_IDENTITY_TOO_LONG'
  /** A PSK longer than OpenSSL can carry; it is never truncated. */
  | 'ERR_PSK_KEY_TOO_LONG'
  /** The PSK's handshake digest differs from the negotiated suite's. */
  | 'ERR_PSK_DIGEST_MISMATCH'
  /** The two sides' PSKs differ (binder or Finished check failed). */
  | 'ERR_PSK_WRONG_KEY'
  /** The server knows none of the PSK identities the client offered. */
  | 'ERR_PSK_UNKNOWN_IDENTITY'
  /** Server: the asynchronous PSK lookup (findPsk, failPskLookup()) failed, timed out or gave an unusable answer (the cause says which). */
  | 'ERR_PSK_LOOKUP'
  /** No cipher suite (or group) both sides allow. */
  | 'ERR_NO_SHARED_CIPHER'
  /** No TLS version both sides allow. */
  | 'ERR_PROTOCOL_VERSION'
  /** The connection ended (reset, or closed) before the handshake finished. */
  | 'ERR_RESET_IN_HANDSHAKE'
  /** The connection ended in the middle of a TLS record. */
  | 'ERR_RESET_IN_RECORD'
  /** The handshake failed otherwise; `alert` says which alert was sent or received. */
  | 'ERR_HANDSHAKE'
  /** The peer's certificate did not verify against the configured CA. */
  | 'ERR_CERT_VERIFY'
  /** A TLS protocol error after the handshake (bad record, unexpected message, alert). */
  | 'ERR_PROTOCOL'
  /** The stream ended between records without close_notify: the data may have been truncated. */
  | 'ERR_TRUNCATED'
  /** The connection was closed with close_notify; nothing more can be sent or received. */
  | 'ERR_CLOSED'
  /** write() or shutdown() before the handshake finished. */
  | 'ERR_HANDSHAKE_INCOMPLETE'
  /** Early data is not possible, or was refused, on this connection. */
  | 'ERR_EARLY_DATA'
  /** The object was freed. */
  | 'ERR_USE_AFTER_FREE'
  /** A callback called back into its own connection (e.g. free() or handshake()). */
  | 'ERR_REENTRANT'
  /** No cryptographically secure random source: the module refuses to run. */
  | 'ERR_NO_CSPRNG'
  /** The .wasm could not be fetched, compiled or instantiated. */
  | 'ERR_WASM_LOAD'
  /** The module trapped (a bug, or memory exhausted); this instance is unusable. */
  | 'ERR_WASM_TRAP'
  /** The module could not allocate memory. */
  | 'ERR_OUT_OF_MEMORY'
  /** The transport (WebSocket, stream) failed or closed abnormally; see closeCode. */
  | 'ERR_TRANSPORT'
  /** The WebSocket bridge refused the target or the page's Origin (close code 1008). */
  | 'ERR_BRIDGE_REFUSED'
  /** The WebSocket bridge is at its connection limit (close code 1013). */
  | 'ERR_BRIDGE_BUSY'
  /** The WebSocket bridge could not reach the TLS server, or lost it (close code 1014). */
  | 'ERR_BRIDGE_UPSTREAM'
  /** The peer sent more than the read buffer holds while the application did not read. */
  | 'ERR_BUFFER_FULL'
  /** The handshake (or the closing handshake) took longer than allowed. */
  | 'ERR_TIMEOUT'
  /** The TLS worker was terminated or crashed; its connections are gone. */
  | 'ERR_WORKER_GONE'
  /** A key vault (createTlsWorker({ vault })) refused this page's origin, or could not be reached. */
  | 'ERR_VAULT'
  /** A key store's IndexedDB failed: the key is usable in memory for this worker, but not saved. */
  | 'ERR_STORAGE'
  /** pskFetch: the server's answer is not valid HTTP/1.1, or ended too early. */
  | 'ERR_HTTP'
  /** pskFetch: a redirect that is not followed (to another origin, too many, or redirect: 'error'). */
  | 'ERR_HTTP_REDIRECT';

/** A TLS alert, as sent or received on the wire (RFC 8446 §6). */
export interface TlsAlert {
  /** Whether this side sent it or received it from the peer. */
  readonly direction: 'sent' | 'received';
  /** The AlertLevel. */
  readonly level: 'warning' | 'fatal';
  /** The AlertDescription number, e.g. 20. */
  readonly code: number;
  /** The RFC name, e.g. 'bad_record_mac'. */
  readonly name: string;
}

/** What a TlsError carries besides its code and message (the constructor's third argument). */
export interface TlsErrorDetails {
  /** OpenSSL's error queue at the time of the failure, oldest first (ERR_error_string_n). */
  openssl?: readonly string[];
  /** The alert sent or received that ended the connection. */
  alert?: TlsAlert;
  /** The error that caused this one (Error's `cause`). */
  cause?: unknown;
  /** The WebSocket close code and reason, for transport errors. */
  closeCode?: number;
  /** The WebSocket close reason, for transport errors. */
  closeReason?: string;
  /** The handshake's steps up to the failure (socket option traceHandshake). */
  handshake?: readonly HandshakeStep[];
}

/**
 * Every error this package gives: a stable `code` to branch on (TlsErrorCode), a message that
 * says what happened, and what OpenSSL, the peer or the transport said.
 */
export class TlsError extends Error {
  /** Always 'TlsError'. */
  override readonly name = 'TlsError';
  /** What went wrong, as a stable code. */
  readonly code: TlsErrorCode;
  /** OpenSSL's error queue at the time of the failure, oldest first (ERR_error_string_n); often empty. */
  readonly openssl: readonly string[];
  /** The alert sent or received that ended the connection, if any. */
  readonly alert: TlsAlert | undefined;
  /** The WebSocket close code, for transport errors (1008 from a bridge that refused, …). */
  readonly closeCode: number | undefined;
  /** The WebSocket close reason, for transport errors. */
  readonly closeReason: string | undefined;
  /** With the socket option traceHandshake: the handshake's steps up to the failure (names, sizes, times). */
  readonly handshake: readonly HandshakeStep[] | undefined;

  constructor(code: TlsErrorCode, message: string, details: TlsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.openssl = details.openssl ?? [];
    this.alert = details.alert;
    this.closeCode = details.closeCode;
    this.closeReason = details.closeReason;
    this.handshake = details.handshake;
  }

  /** This error with the steps of the handshake it ended. */
  withHandshake(handshake: readonly HandshakeStep[]): TlsError {
    const details: TlsErrorDetails = { openssl: this.openssl, handshake };
    if (this.cause !== undefined) details.cause = this.cause;
    if (this.alert) details.alert = this.alert;
    if (this.closeCode !== undefined) details.closeCode = this.closeCode;
    if (this.closeReason !== undefined) details.closeReason = this.closeReason;
    const error = new TlsError(this.code, this.message, details);
    if (this.stack !== undefined) error.stack = this.stack;
    return error;
  }

  /** This error, explained further by `cause` (e.g. a transport failure behind a truncation). */
  withCause(cause: TlsError): TlsError {
    const details: TlsErrorDetails = { openssl: cause.openssl.length ? cause.openssl : this.openssl, cause };
    if (this.closeCode !== undefined) details.closeCode = this.closeCode;
    if (this.closeReason !== undefined) details.closeReason = this.closeReason;
    if (cause.alert) details.alert = cause.alert;
    const handshake = this.handshake ?? cause.handshake;
    if (handshake) details.handshake = handshake;
    return new TlsError(this.code, `${this.message} (${cause.message})`, details);
  }
}

const ALERT_NAMES: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

/** Decodes the `(level << 8) | description` value that OpenSSL's info callback reports. */
export function decodeAlert(value: number, direction: TlsAlert['direction']): TlsAlert | undefined {
  if (value < 0) return undefined;
  const code = value & 0xff;
  return {
    direction,
    level: value >> 8 === 2 ? 'fatal' : 'warning',
    code,
    name: ALERT_NAMES[code] ?? `alert_${code}`,
  };
}

/** Throws ERR_INVALID_ARGUMENT unless `value` is a Uint8Array. */
export function requireBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be a Uint8Array, got ${describe(value)}`);
  }
  return value;
}

/** Throws ERR_INVALID_ARGUMENT unless `value` is an integer from 0 to 2^32 - 1. */
export function requireUint32(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be an integer from 0 to 4294967295, got ${describe(value)}`);
  }
}

/**
 * What an argument was, for an error message: its type, and a string's length, never a
 * string's content (it may be a key or a PEM given where bytes were expected). Total: a value
 * whose inspection throws still gets a description.
 */
export function describe(value: unknown): string {
  try {
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
    if (typeof value === 'string') return `a string of ${value.length} characters`;
    return typeof value === 'symbol' || typeof value === 'function' ? `a ${typeof value}` : `${typeof value} ${String(value)}`;
  } catch {
    return `a ${typeof value} that cannot be inspected`;
  }
}

/** `value instanceof TlsError`, total (a Proxy's getPrototypeOf trap may throw). */
export function isTlsError(value: unknown): value is TlsError {
  try {
    return value instanceof TlsError;
  } catch {
    return false;
  }
}

/** Says what a thrown value is, and never throws itself (a getter or toString may). */
export function textOf(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    return String(value);
  } catch {
    return 'a value that cannot be described';
  }
}
