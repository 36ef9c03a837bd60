/**
 * openssl-psk-wasm: OpenSSL 1.1.1w in WebAssembly, speaking PSK TLS (TLS 1.2 PSK suites and
 * TLS 1.3 external PSKs with early data) through a sans-IO engine.
 *
 * @module openssl-psk-wasm
 */
export { loadOpenSSL, compileOpenSSL } from './tls/psk-build.js';
export type { LoadOptions } from './tls/loader.js';
export { preload } from './tls/preload.js';
export { OpenSSL, type HeapStats } from './tls/openssl.js';
export { SslContext, DEFAULT_CLIENT_CIPHERSUITES, DEFAULT_CLIENT_CIPHER_LIST, type ContextOptions } from './tls/context.js';
export {
  TlsConnection,
  type ConnectionOptions,
  type EarlyDataRead,
  type EarlyDataStatus,
  type HandshakeState,
  type PskUseSessionCallback,
  type PskClientCallback,
  type PskFindSessionCallback,
  type PskServerCallback,
  type KeylogCallback,
  type MessageCallback,
  type NewSessionCallback,
} from './tls/connection.js';
export { SslSession, MAX_MASTER_KEY_LENGTH, type PskSessionOptions } from './tls/session.js';
export type { PskAnswer, PskKeyAnswer } from './tls/psk-lookup.js';
export type { Cipher, Digest } from './core/cipher.js';
export { SecretKey, type KeyMaterial } from './tls/secret.js';
export { TlsError, type TlsErrorCode, type TlsErrorDetails, type TlsAlert } from './core/errors.js';
export { onLeak } from './core/lifetime.js';
export { describeMessage, type TlsMessage } from './tls/observers.js';
export { handshakeStep, type HandshakeStep } from './tls/handshake-trace.js';
export { connectTls, acceptTls } from './socket/connect.js';
export { TlsSocket, type TlsTarget } from './socket/socket.js';
export type { TlsSocketOptions, FindPsk } from './socket/socket-options.js';
export type { TlsSocketInfo, TlsSocketLike } from './socket/socket-shape.js';
export type { StaticPsk } from './socket/static-psk.js';
export type { ByteDuplex, WebSocketLike } from './socket/transport.js';
export type { ProtocolVersion } from './tls/protocol-version.js';
