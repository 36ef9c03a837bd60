/**
 * What a TLS socket is, wherever its TLS runs: in this thread (connectTls() and acceptTls(),
 * a TlsSocket) or in a TLS worker (TlsWorker.connect() and accept(), a WorkerTlsSocket). The
 * shape is the Direct Sockets / Cloudflare `connect()` socket's. getSession() is TlsSocket's
 * alone: a session holds the master key, which never leaves the worker.
 */
import type { HandshakeStep } from '../core/handshake-step.js';

/** What a socket's `opened` resolves with: the session the handshake negotiated. */
export interface TlsSocketInfo {
  /** 'TLSv1.3' or 'TLSv1.2'. */
  protocol: string;
  /** The suite, by its standard name (e.g. 'TLS_AES_128_GCM_SHA256'). */
  cipher: string;
  /** True when the PSK (TLS 1.3) or a resumed session was used. */
  sessionReused: boolean;
  /** Client: whether the server accepted the early data (if not, it was sent again after the handshake). */
  earlyDataAccepted: boolean;
  /** The key exchange group ('X25519', 'P-256', 'DH'), or null for TLS 1.3 psk_ke and TLS 1.2 plain PSK. */
  keyExchangeGroup: string | null;
  /** With traceHandshake: the handshake's steps, each message by name, size and time. */
  handshake?: HandshakeStep[];
}

/** The members a TlsSocket and a WorkerTlsSocket share. */
export interface TlsSocketLike {
  /** Resolves when the handshake is complete; rejects with a TlsError if it fails. */
  readonly opened: Promise<TlsSocketInfo>;
  /** Resolves when the socket is closed; rejects with the TlsError that ended it. */
  readonly closed: Promise<void>;
  /** Plaintext from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Plaintext to the peer; closing it sends close_notify. */
  readonly writable: WritableStream<Uint8Array>;
  /** Sends close_notify, waits briefly for the peer's, and closes the transport. */
  close(): Promise<void>;
  /** Reads the plaintext, chunk by chunk (`for await (const chunk of socket)`), in every engine. */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined>;
}

/**
 * Async iteration of a socket's plaintext with a reader: `for await (… of readableStream)` is
 * missing in WebKit (Safari), so the sockets iterate themselves (`for await (… of socket)`).
 */
export async function* readChunks(readable: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
