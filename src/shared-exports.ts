/**
 * The exports both entry points share (`openssl-psk-wasm` and `openssl-psk-wasm/full`): all but
 * the functions that load a build (loadOpenSSL, compileOpenSSL, preload, connectTls,
 * acceptTls), which each entry point takes from its own build. One list, so that the two
 * cannot drift apart.
 */
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
export { TlsSocket, type TlsTarget } from './socket/socket.js';
export type { TlsSocketOptions, FindPsk } from './socket/socket-options.js';
export type { TlsSocketInfo, TlsSocketLike } from './socket/socket-shape.js';
export type { StaticPsk } from './socket/static-psk.js';
export type { ByteDuplex, WebSocketLike } from './socket/transport.js';
export type { ProtocolVersion } from './tls/protocol-version.js';
