/**
 * Observers of a connection: NSS key log lines (onKeylog; SSLKEYLOGFILE format, which
 * Wireshark reads to decrypt a capture), each protocol message (onMessage; what `openssl
 * s_client -msg` prints) and each new session (onNewSession; what -sess_out saves). They hand
 * out secrets or traffic: the library never logs them itself, and they exist only where the
 * application sets them.
 */
import type { ConnectionImports } from '../core/ffi-imports.js';
import type { CStringPtr, Ptr, SessionPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import { SslSession } from './session.js';

/** One protocol message or record header, as SSL_CTX_set_msg_callback reports it. */
export interface TlsMessage {
  /** Whether this side sent it or received it. */
  direction: 'sent' | 'received';
  /** The protocol version number, e.g. 0x0304 (TLS 1.3). */
  version: number;
  /** 20 ChangeCipherSpec, 21 Alert, 22 Handshake, 23 ApplicationData; 256 a record header, 257 TLS 1.3 inner content type. */
  contentType: number;
  /** The message's bytes (a copy). */
  bytes: Uint8Array;
}

/**
 * A context's (or a connection's) observers; `C` is what they get as the connection. The
 * callback types the API documents (KeylogCallback, …) are in connection.ts.
 */
export interface Observers<C> {
  keylog: ((line: string, conn: C) => void) | null;
  message: ((message: TlsMessage, conn: C) => void) | null;
  newSession: ((session: SslSession, conn: C) => void) | null;
}

/** The imports of the shim a connection's observers answer (ffi-imports.ts). */
export type ObserverImports = Pick<ConnectionImports, 'keylog' | 'newSession' | 'message'>;

/**
 * The observers of one connection, called as OpenSSL reports. An observer that throws ends the
 * connection, but from its next engine call on (see TlsConnection): what the call it threw in
 * produced is still delivered.
 */
export class ObserverDispatch<C> implements ObserverImports {
  readonly #rt: Runtime;
  readonly #conn: C;
  readonly #observers: Observers<C>;
  #thrown: { error: unknown } | null = null;

  constructor(rt: Runtime, conn: C, observers: Observers<C>) {
    this.#rt = rt;
    this.#conn = conn;
    this.#observers = { ...observers };
  }

  /** What an observer threw since the last call, if anything (then forgotten). */
  takeThrown(): { error: unknown } | null {
    const thrown = this.#thrown;
    this.#thrown = null;
    return thrown;
  }

  keylog(line: CStringPtr): void {
    this.#run(() => this.#observers.keylog?.(this.#rt.heap.cString(line) ?? '', this.#conn));
  }

  newSession(session: SessionPtr): number {
    const cb = this.#observers.newSession;
    if (!cb) return 0; // OpenSSL keeps its reference
    const wrapper = new SslSession(this.#rt, session); // takes the reference OpenSSL hands over
    try {
      cb(wrapper, this.#conn);
    } catch (error) {
      wrapper.free();
      this.#record(error);
    }
    return 1;
  }

  message(writeP: number, version: number, contentType: number, buf: Ptr, len: number): void {
    this.#run(() =>
      this.#observers.message?.({ direction: writeP ? 'sent' : 'received', version, contentType, bytes: this.#rt.heap.copyOut(buf, len) }, this.#conn),
    );
  }

  #run(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#record(error);
    }
  }

  /** The first observer failure is the one the connection reports. */
  #record(error: unknown): void {
    this.#thrown ??= { error };
  }
}

const VERSIONS: Record<number, string> = { 0x0303: 'TLS 1.2', 0x0304: 'TLS 1.3' };
const CONTENT: Record<number, string> = {
  20: 'ChangeCipherSpec',
  21: 'Alert',
  22: 'Handshake',
  23: 'ApplicationData',
  256: 'RecordHeader',
  257: 'InnerContent',
};
/** Handshake message types by number (RFC 8446 §4, RFC 5246 §7.4). */
export const HANDSHAKE_TYPES: Record<number, string> = {
  1: 'ClientHello',
  2: 'ServerHello',
  4: 'NewSessionTicket',
  5: 'EndOfEarlyData',
  8: 'EncryptedExtensions',
  11: 'Certificate',
  12: 'ServerKeyExchange',
  13: 'CertificateRequest',
  14: 'ServerHelloDone',
  15: 'CertificateVerify',
  16: 'ClientKeyExchange',
  20: 'Finished',
  24: 'KeyUpdate',
  254: 'MessageHash',
};

/** An `openssl -msg` style line: ">>> TLS 1.3, Handshake [length 00c2], ClientHello". */
export function describeMessage(message: TlsMessage): string {
  const arrow = message.direction === 'sent' ? '>>>' : '<<<';
  const version = VERSIONS[message.version] ?? `0x${message.version.toString(16).padStart(4, '0')}`;
  const content = CONTENT[message.contentType] ?? `content type ${message.contentType}`;
  const length = message.bytes.length.toString(16).padStart(4, '0');
  let detail = '';
  if (message.contentType === 22 && message.bytes.length > 0) detail = `, ${HANDSHAKE_TYPES[message.bytes[0]!] ?? `type ${message.bytes[0]}`}`;
  if (message.contentType === 21 && message.bytes.length >= 2) detail = `, ${message.bytes[0] === 2 ? 'fatal' : 'warning'} ${message.bytes[1]}`;
  return `${arrow} ${version}, ${content} [length ${length}]${detail}`;
}
