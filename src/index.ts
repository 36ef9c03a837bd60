/**
 * openssl-psk-wasm: OpenSSL 1.1.1w in WebAssembly, speaking PSK TLS (TLS 1.2 PSK suites and
 * TLS 1.3 external PSKs with early data) through a sans-IO engine.
 */
export { loadOpenSSL, compileOpenSSL, type LoadOptions } from './loader.js';
export { OpenSSL, type HeapStats } from './openssl.js';
export { SslContext, DEFAULT_CLIENT_CIPHERSUITES, DEFAULT_CLIENT_CIPHER_LIST, type ContextOptions } from './context.js';
export { TlsConnection, type ConnectionOptions, type EarlyDataRead, type EarlyDataStatus } from './connection.js';
export { SslSession, MAX_MASTER_KEY_LENGTH, type PskSessionOptions } from './session.js';
export type { Cipher, Digest } from './cipher.js';
export { SecretKey, type KeyMaterial } from './secret.js';
export type {
  PskUseSessionCallback,
  PskClientCallback,
  PskFindSessionCallback,
  PskServerCallback,
} from './psk.js';
export { TlsError, type TlsErrorCode, type TlsErrorDetails, type TlsAlert } from './errors.js';
export { onLeak } from './lifetime.js';
export { describeMessage, type TlsMessage, type KeylogCallback, type MessageCallback, type NewSessionCallback } from './observers.js';
export { handshakeStep, type HandshakeStep } from './handshake-trace.js';
export { connectTls, acceptTls, TlsSocket, type TlsSocketOptions, type TlsSocketInfo, type TlsTarget } from './socket.js';
export type { StaticPsk } from './static-psk.js';
export type { ByteDuplex, WebSocketLike } from './transport.js';
export type { ProtocolVersion } from './runtime.js';
