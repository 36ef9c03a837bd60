/**
 * What the page and the TLS worker say to each other. The page may be compromised, so this is
 * a fixed list of methods, not a generic RPC: a call names one method of METHODS and passes
 * plain data; the worker validates every argument (./validate.ts) and answers with a value or
 * an error. Nothing reaches an object along a property path.
 *
 *   page → worker   { call: id, method, args }
 *   worker → page   { reply: id, value } | { reply: id, error: WireError }
 *
 * Each socket's plaintext travels on streams of its own (./channel.ts), never on this port.
 */
import { TlsError, textOf, type TlsAlert, type TlsErrorCode } from '../core/errors.js';
import type { TlsSocketInfo } from '../socket/socket-shape.js';
import type { ContextOptions } from '../tls/context.js';
import type { HandshakeStep } from '../core/handshake-step.js';

/** Socket options that can cross to the worker: plain data only (no callbacks, no objects). */
export interface WorkerSocketOptions extends Omit<
  ContextOptions,
  'role' | 'pskUseSession' | 'pskClient' | 'pskFindSession' | 'pskServer' | 'deferPskLookup' | 'onKeylog' | 'onMessage' | 'onNewSession'
> {
  /** Client: the identity of an imported PSK to use (default: the only one imported). */
  identity?: string;
  /** Server: the identities it accepts (default: every imported PSK). */
  identities?: string[];
  /** Client, TLS 1.3: data to send as 0-RTT early data with the ClientHello. Resent after the handshake if the server rejects it. */
  earlyData?: Uint8Array;
  /** Server name for SNI and certificate checks (client). */
  serverName?: string;
  /** Give up the handshake after this long (default 30 000 ms). */
  handshakeTimeoutMs?: number;
  /** How long close() waits for the peer's close_notify (default 2 000 ms). */
  closeTimeoutMs?: number;
  /** Plaintext buffered for the reader before the transport is left unread (default 64 KiB). */
  readHighWaterMark?: number;
  /** Browser WebSocket only: unread bytes held before failing with ERR_BUFFER_FULL (default 8 MiB). */
  maxBufferedBytes?: number;
  /** Keep the writable open after the peer's close_notify (default false: answer it and close). */
  allowHalfOpen?: boolean;
  /** Record the handshake's steps (names, sizes, times; never bytes), as connectTls does. */
  traceHandshake?: boolean;
  /**
   * Server: look each offered identity up in the worker's key store when a ClientHello asks
   * for it, asynchronously (acceptTls's findPsk), instead of preparing every imported PSK
   * before the handshake. TLS 1.3 only: a TLS 1.2 ClientHello is refused (protocol_version).
   */
  asyncLookup?: boolean;
  /** With asyncLookup: how long one lookup may take (default 5 000 ms), then ERR_PSK_LOOKUP. */
  pskLookupTimeoutMs?: number;
}

export interface StartOptions {
  /** Where the worker fetches openssl-psk.wasm from (e.g. a CDN's URL, served with CORS). */
  wasmUrl?: string;
}

/** importPskFromPassphrase()'s options: PBKDF2's parameters and the PSK's suite. */
export interface PassphraseOptions {
  /** PBKDF2 iterations (default 600 000, OWASP's figure for PBKDF2-HMAC-SHA256). */
  iterations?: number;
  /** PBKDF2's hash (default 'SHA-256'). */
  hash?: 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** Key length in bytes (default 32). */
  length?: number;
  /** The TLS 1.3 suite whose digest the PSK uses (default TLS_AES_128_GCM_SHA256). */
  cipher?: string;
}

/**
 * How a socket's plaintext crosses: a MessagePort of its own (the default, in every engine),
 * or, on request, a pair of transferred streams (Chromium, Firefox and Node can; WebKit cannot).
 */
export type SocketChannel = { kind: 'streams'; toPage: WritableStream<Uint8Array>; fromPage: ReadableStream<Uint8Array> } | { kind: 'port'; port: MessagePort };

/**
 * A socket's MessagePort channel: bytes one side may send before the other has read them (the
 * receiver holds at most twice this). Measured: 512 KiB brings WebKit's worker bulk from about
 * 13 MB/s (256 KiB) to 17-19 MB/s, as much as 1 MiB does; Chromium and Firefox are the same at
 * either size.
 */
export const PORT_WINDOW = 512 * 1024;

/** The methods the worker answers, with the arguments each takes. */
export interface TlsWorkerMethods {
  /**
   * Loads OpenSSL, from `wasmUrl` if given (the package's .wasm otherwise): the first call, once,
   * before any key exists. createTlsWorker() makes it, so that a worker that cannot load the
   * module fails at once rather than at its first use.
   */
  start(options: StartOptions): void;
  importPsk(identity: string, key: ArrayBuffer, options: { cipher?: string }): void;
  importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions): void;
  deletePsk(identity: string): boolean;
  listPsks(): string[];
  /** Deletes every PSK this page may delete (with a store: every one its origin imported); the count. */
  clearStore(): number;
  open(id: number, role: 'client' | 'server', url: string, options: WorkerSocketOptions, channel: SocketChannel): TlsSocketInfo;
  /** Resolves when socket `id` has closed; rejects with what ended it. */
  closed(id: number): void;
  /**
   * Sends close_notify and closes socket `id`, once the first `sent` bytes the page wrote
   * (they cross on the socket's own channel, in no order with this call) have gone to TLS.
   */
  close(id: number, sent?: number): void;
}

export type MethodName = keyof TlsWorkerMethods;

export interface CallMessage {
  call: number;
  method: string;
  args: unknown[];
}

export interface ReplyMessage {
  reply: number | string | null;
  value?: unknown;
  error?: WireError;
}

/** A TlsError as plain data (what structured clone keeps of an Error is name and message). */
export interface WireError {
  code: TlsErrorCode;
  message: string;
  openssl: string[];
  alert?: TlsAlert;
  closeCode?: number;
  closeReason?: string;
  /** What the cause said, as text: the cause itself may not be cloneable. */
  cause?: string;
  /** With traceHandshake: the steps (names, sizes, times) up to the failure. */
  handshake?: HandshakeStep[];
}

/** Any thrown value as a TlsError: TlsErrors as they are, the rest wrapped with `code`. */
export function asTlsError(error: unknown, code: TlsErrorCode, what: string): TlsError {
  if (error instanceof TlsError) return error;
  return new TlsError(code, `${what}: ${textOf(error)}`, { cause: error });
}

export function toWire(error: unknown): WireError {
  const e = asTlsError(error, 'ERR_INVALID_ARGUMENT', 'the TLS worker failed');
  const wire: WireError = { code: e.code, message: e.message, openssl: [...e.openssl] };
  if (e.alert) wire.alert = { ...e.alert };
  if (e.closeCode !== undefined) wire.closeCode = e.closeCode;
  if (e.closeReason !== undefined) wire.closeReason = e.closeReason;
  if (e.cause !== undefined) wire.cause = e.cause instanceof TlsError ? `${e.cause.code}: ${e.cause.message}` : textOf(e.cause);
  if (e.handshake) wire.handshake = e.handshake.map((step) => ({ ...step }));
  return wire;
}

export function fromWire(wire: WireError): TlsError {
  const details: ConstructorParameters<typeof TlsError>[2] = { openssl: wire.openssl };
  if (wire.alert) details.alert = wire.alert;
  if (wire.closeCode !== undefined) details.closeCode = wire.closeCode;
  if (wire.closeReason !== undefined) details.closeReason = wire.closeReason;
  if (wire.cause !== undefined) details.cause = wire.cause;
  if (wire.handshake) details.handshake = wire.handshake;
  return new TlsError(wire.code, wire.message, details);
}
