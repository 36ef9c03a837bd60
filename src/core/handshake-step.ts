/**
 * One step of a handshake as traceHandshake records it (../tls/handshake-trace.ts): what a
 * ladder diagram needs, names, sizes and times, never the bytes. Here, beside the errors that
 * carry it, so that core/ needs nothing from tls/.
 */
export interface HandshakeStep {
  /** Whether this side sent it or received it. */
  direction: 'sent' | 'received';
  /** The record's content: a handshake message, an alert, or a ChangeCipherSpec. */
  kind: 'handshake' | 'alert' | 'change_cipher_spec';
  /** 'ClientHello', 'HelloRetryRequest', 'Finished', …; for an alert its name ('decrypt_error'). */
  name: string;
  /** For an alert: 'fatal' or 'warning'. */
  level?: 'fatal' | 'warning';
  /** Bytes of the message (a handshake message with its 4-byte header). */
  size: number;
  /** Milliseconds since the socket started its handshake. */
  timeMs: number;
}
