/**
 * Observers of a connection: NSS key log lines (onKeylog; SSLKEYLOGFILE format, which
 * Wireshark reads to decrypt a capture), each protocol message (onMessage; what `openssl
 * s_client -msg` prints) and each new session (onNewSession; what -sess_out saves). They hand
 * out secrets or traffic: the library never logs them itself, and they exist only where the
 * application sets them.
 */
import type { TlsConnection } from './connection.js';
import type { CStringPtr, Ptr, SessionPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import { SslSession } from './session.js';

/** One protocol message or record header, as SSL_CTX_set_msg_callback reports it. */
export interface TlsMessage {
  direction: 'sent' | 'received';
  /** The protocol version number, e.g. 0x0304 (TLS 1.3). */
  version: number;
  /** 20 ChangeCipherSpec, 21 Alert, 22 Handshake, 23 ApplicationData; 256 a record header, 257 TLS 1.3 inner content type. */
  contentType: number;
  bytes: Uint8Array;
}

/** NSS key log line: "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>". A secret. */
export type KeylogCallback = (line: string, conn: TlsConnection) => void;
export type MessageCallback = (message: TlsMessage, conn: TlsConnection) => void;
/** A new session (TLS 1.3: each ticket received or sent); it is the callback's to keep or free(). */
export type NewSessionCallback = (session: SslSession, conn: TlsConnection) => void;

export interface Observers {
  keylog: KeylogCallback | null;
  message: MessageCallback | null;
  newSession: NewSessionCallback | null;
}

/** A connection's answers to the shim's observer imports (ffi-imports.ts). */
export function observerImports(rt: Runtime, conn: TlsConnection) {
  const run = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      conn.recordObserverError(error);
    }
  };
  return {
    keylog(line: CStringPtr): void {
      run(() => conn.observers.keylog?.(rt.heap.cString(line) ?? '', conn));
    },
    newSession(session: SessionPtr): number {
      const cb = conn.observers.newSession;
      if (!cb) return 0; // OpenSSL keeps its reference
      const wrapper = new SslSession(rt, session); // takes the reference OpenSSL hands over
      try {
        cb(wrapper, conn);
      } catch (error) {
        wrapper.free();
        conn.recordObserverError(error);
      }
      return 1;
    },
    message(writeP: number, version: number, contentType: number, buf: Ptr, len: number): void {
      run(() =>
        conn.observers.message?.({ direction: writeP ? 'sent' : 'received', version, contentType, bytes: rt.heap.copyOut(buf, len) }, conn),
      );
    },
  };
}

const VERSIONS: Record<number, string> = { 0x0303: 'TLS 1.2', 0x0304: 'TLS 1.3' };
const CONTENT: Record<number, string> = { 20: 'ChangeCipherSpec', 21: 'Alert', 22: 'Handshake', 23: 'ApplicationData', 256: 'RecordHeader', 257: 'InnerContent' };
const HANDSHAKE: Record<number, string> = {
  1: 'ClientHello', 2: 'ServerHello', 4: 'NewSessionTicket', 5: 'EndOfEarlyData', 8: 'EncryptedExtensions',
  11: 'Certificate', 12: 'ServerKeyExchange', 13: 'CertificateRequest', 14: 'ServerHelloDone',
  15: 'CertificateVerify', 16: 'ClientKeyExchange', 20: 'Finished', 24: 'KeyUpdate', 254: 'MessageHash',
};

/** An `openssl -msg` style line: ">>> TLS 1.3, Handshake [length 00c2], ClientHello". */
export function describeMessage(message: TlsMessage): string {
  const arrow = message.direction === 'sent' ? '>>>' : '<<<';
  const version = VERSIONS[message.version] ?? `0x${message.version.toString(16).padStart(4, '0')}`;
  const content = CONTENT[message.contentType] ?? `content type ${message.contentType}`;
  const length = message.bytes.length.toString(16).padStart(4, '0');
  let detail = '';
  if (message.contentType === 22 && message.bytes.length > 0) detail = `, ${HANDSHAKE[message.bytes[0]!] ?? `type ${message.bytes[0]}`}`;
  if (message.contentType === 21 && message.bytes.length >= 2) detail = `, ${message.bytes[0] === 2 ? 'fatal' : 'warning'} ${message.bytes[1]}`;
  return `${arrow} ${version}, ${content} [length ${length}]${detail}`;
}
