/**
 * What the page and the TLS worker say to each other (over comlink): the API, the options that
 * cross (plain data, no callbacks), and how a TlsError survives the crossing.
 */
import { transferHandlers } from 'comlink/dist/esm/comlink.mjs';
import { TlsError, type TlsAlert, type TlsErrorCode } from '../errors.js';
import type { ContextOptions } from '../context.js';
import type { TlsSocketInfo } from '../socket.js';

/** Socket options that can cross to the worker: everything but callbacks and objects. */
export interface WorkerSocketOptions
  extends Omit<ContextOptions, 'role' | 'pskUseSession' | 'pskClient' | 'pskFindSession' | 'pskServer' | 'onKeylog' | 'onMessage' | 'onNewSession'> {
  /** Client: the identity of an imported PSK to use. */
  identity?: string;
  /** Server: the identities it accepts (default: every imported PSK). */
  identities?: string[];
  earlyData?: Uint8Array;
  serverName?: string;
  handshakeTimeoutMs?: number;
  closeTimeoutMs?: number;
  readHighWaterMark?: number;
  maxBufferedBytes?: number;
  allowHalfOpen?: boolean;
}

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

/** The worker's side, as the page calls it. */
export interface TlsWorkerApi {
  importPsk(identity: string, key: ArrayBuffer, options: { cipher?: string }): Promise<void>;
  importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions): Promise<void>;
  deletePsk(identity: string): Promise<boolean>;
  listPsks(): Promise<string[]>;
  open(
    id: number,
    role: 'client' | 'server',
    url: string,
    options: WorkerSocketOptions,
    toPage: WritableStream<Uint8Array>,
    fromPage: ReadableStream<Uint8Array>,
  ): Promise<TlsSocketInfo>;
  closed(id: number): Promise<void>;
  close(id: number): Promise<void>;
  /** Debug workers only: whether `needle` occurs in the worker's wasm memory. */
  memoryContains(needle: Uint8Array): Promise<boolean>;
  /** Debug workers only: throws an uncaught error in the worker. */
  crash(): Promise<void>;
}

interface WireError {
  code: TlsErrorCode;
  message: string;
  openssl: readonly string[];
  alert?: TlsAlert;
  closeCode?: number;
  closeReason?: string;
  cause?: string;
}

let installed = false;

/**
 * Makes a thrown TlsError cross as a TlsError (code, alert, OpenSSL's queue) instead of
 * comlink's plain { name, message, stack }. Both sides call it.
 */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const fallback = transferHandlers.get('throw')!;
  transferHandlers.set('throw', {
    canHandle: fallback.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      if (!(value instanceof TlsError)) return fallback.serialize(thrown);
      const wire: WireError = { code: value.code, message: value.message, openssl: value.openssl };
      if (value.alert) wire.alert = value.alert;
      if (value.closeCode !== undefined) wire.closeCode = value.closeCode;
      if (value.closeReason !== undefined) wire.closeReason = value.closeReason;
      if (value.cause !== undefined) wire.cause = value.cause instanceof Error ? value.cause.message : String(value.cause);
      return [{ tlsError: wire }, []];
    },
    deserialize(serialized: unknown) {
      const wire = (serialized as { tlsError?: WireError }).tlsError;
      if (!wire) return fallback.deserialize(serialized);
      const details: ConstructorParameters<typeof TlsError>[2] = { openssl: wire.openssl };
      if (wire.alert) details.alert = wire.alert;
      if (wire.closeCode !== undefined) details.closeCode = wire.closeCode;
      if (wire.closeReason !== undefined) details.closeReason = wire.closeReason;
      if (wire.cause !== undefined) details.cause = wire.cause;
      throw new TlsError(wire.code, wire.message, details);
    },
  });
}
