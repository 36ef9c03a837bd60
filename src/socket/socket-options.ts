/**
 * The options of connectTls() and acceptTls(): every context option but the role, and what a
 * socket adds, named once in SOCKET_OPTIONS (see OptionSchema), which tells a socket's own
 * options from its context's and what of them crosses to the TLS worker.
 */
import { LOCAL, boolean, bytes, count, string, type OptionSchema } from '../core/checks.js';
import type { ContextOptions, SslContext } from '../tls/context.js';
import type { OpenSSL } from '../tls/openssl.js';
import type { PskAnswer } from '../tls/psk-lookup.js';
import type { SslSession } from '../tls/session.js';
import type { StaticPsk } from './static-psk.js';

/**
 * acceptTls()'s asynchronous PSK lookup (TLS 1.3): called with each identity the client
 * offers, in the client's order, until one has a PSK. Resolve with `{ key, cipher? }` (the
 * cipher's digest is the PSK's, default 'TLS_AES_128_GCM_SHA256'; it allows the socket's
 * maxEarlyData), an SslSession, or null for an unknown identity. A
 * session made during the lookup and returned from it is the socket's (freed with it) unless
 * keep() was called on it; any other session stays yours. `signal` aborts when the lookup
 * times out (pskLookupTimeoutMs) or the socket ends first; a late answer is then dropped.
 */
export type FindPsk = (identity: Uint8Array, options: { signal: AbortSignal }) => Promise<PskAnswer> | PskAnswer;

/** connectTls()'s and acceptTls()'s options: a static PSK or the PSK callbacks, every context option, and the socket's own. */
export interface TlsSocketOptions extends Omit<ContextOptions, 'role'> {
  /** A static PSK: one for a client; one or several (by identity) for a server. */
  psk?: StaticPsk | readonly StaticPsk[];
  /**
   * Server, TLS 1.3: find the PSK of an identity asynchronously (a database, a file, a key
   * vault), while the handshake waits. Excludes `psk`, `pskFindSession` and `pskServer`. A
   * ClientHello offering TLS 1.2 at most is refused (protocol_version alert).
   */
  findPsk?: FindPsk;
  /** How long one findPsk call may take (default 5 000 ms); then the handshake fails with ERR_PSK_LOOKUP, the client gets internal_error. */
  pskLookupTimeoutMs?: number;
  /** Client, TLS 1.3: data to send as 0-RTT early data with the ClientHello. Resent after the handshake if the server rejects it. */
  earlyData?: Uint8Array;
  /**
   * Server, TLS 1.3, with maxEarlyData: answer early data at once, as 0.5-RTT data. The
   * readable delivers the client's early data as it arrives, before `opened`, and what is
   * written before the handshake ends goes out right after the server's flight instead of
   * waiting for the client's Finished: the client gets the answer one round trip sooner. The
   * cost: the answer leaves before the client has proved it holds the PSK, to a request that
   * may be a replay (the caveat of accepting early data at all, made visible by the answer).
   * At most 64 KiB goes out that way; the rest, and every write when the early data was
   * rejected or not sent, waits for the handshake as without this option, in order. Refused
   * (ERR_INVALID_ARGUMENT) on a client and without maxEarlyData. Default false.
   */
  halfRttData?: boolean;
  /** Server name for SNI and certificate checks (client). */
  serverName?: string;
  /** Client: a session to resume (SSL_set_session), e.g. from getSession() or sessionFromPem(). */
  session?: SslSession;
  /** The OpenSSL instance to use (default: one shared instance, loaded on first use). */
  openssl?: OpenSSL;
  /** An existing context to use instead of building one from these options. */
  context?: SslContext;
  /** Give up the handshake after this long (default 30 000 ms). */
  handshakeTimeoutMs?: number;
  /** How long close() waits for the peer's close_notify (default 2 000 ms). */
  closeTimeoutMs?: number;
  /** Plaintext buffered for the reader before the transport is left unread (default 64 KiB). */
  readHighWaterMark?: number;
  /** Browser WebSocket only: unread bytes held before failing with ERR_BUFFER_FULL (default 8 MiB). */
  maxBufferedBytes?: number;
  /**
   * Keep the writable open after the peer's close_notify (TLS 1.3 allows it). Default false:
   * like a Node socket, the socket then sends its own close_notify and closes.
   */
  allowHalfOpen?: boolean;
  /**
   * Record the handshake's steps (message names, sizes, times: never bytes) for a ladder
   * diagram: in `opened`'s info as `handshake`, and on the TlsError if the handshake fails.
   * Not with `context` (the socket adds a message observer to the context it builds).
   */
  traceHandshake?: boolean;
}

/** The options a socket adds to its context's; a worker socket takes its PSK by identity instead of `psk`. */
export const SOCKET_OPTIONS = {
  psk: LOCAL,
  findPsk: LOCAL,
  pskLookupTimeoutMs: count,
  earlyData: bytes,
  halfRttData: LOCAL,
  serverName: string,
  session: LOCAL,
  openssl: LOCAL,
  context: LOCAL,
  handshakeTimeoutMs: count,
  closeTimeoutMs: count,
  readHighWaterMark: count,
  maxBufferedBytes: count,
  allowHalfOpen: boolean,
  traceHandshake: boolean,
} satisfies { [K in Exclude<keyof TlsSocketOptions, keyof ContextOptions>]-?: OptionSchema[string] };

/** The context options among a socket's: everything SOCKET_OPTIONS does not name (unknown names too, which createContext() refuses). */
export function contextOptionsOf(options: TlsSocketOptions): Omit<ContextOptions, 'role'> {
  const rest: Record<string, unknown> = { ...options };
  for (const name of Object.keys(SOCKET_OPTIONS)) delete rest[name];
  return rest as Omit<ContextOptions, 'role'>;
}
