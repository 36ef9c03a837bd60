/**
 * openssl-psk-wasm/full: the same API as `openssl-psk-wasm` on the full build of the module
 * (openssl-psk-full.wasm), which adds certificates to the PSK build: certificate-authenticated
 * handshakes, the fallback from an unknown PSK identity to a certificate, RSA and ECDSA keys.
 * An application imports one of the two; its bundle then holds only that build's .wasm.
 *
 * @module openssl-psk-wasm/full
 */
export { loadOpenSSL, compileOpenSSL } from './tls/full-build.js';
export type { LoadOptions } from './tls/loader.js';
export { preload } from './tls/preload-full.js';
export { OpenSSL, type HeapStats } from './tls/openssl.js';
export { SslContext, DEFAULT_CLIENT_CIPHERSUITES, DEFAULT_CLIENT_CIPHER_LIST, type ContextOptions } from './tls/context.js';
export {
  TlsConnection,
  type ConnectionOptions,
  type EarlyDataRead,
  type EarlyDataStatus,
  type PskUseSessionCallback,
  type PskClientCallback,
  type PskFindSessionCallback,
  type PskServerCallback,
  type KeylogCallback,
  type MessageCallback,
  type NewSessionCallback,
} from './tls/connection.js';
export { SslSession, MAX_MASTER_KEY_LENGTH, type PskSessionOptions } from './tls/session.js';
export type { Cipher, Digest } from './core/cipher.js';
export { SecretKey, type KeyMaterial } from './tls/secret.js';
export { TlsError, type TlsErrorCode, type TlsErrorDetails, type TlsAlert } from './core/errors.js';
export { onLeak } from './core/lifetime.js';
export { describeMessage, type TlsMessage } from './tls/observers.js';
export { handshakeStep, type HandshakeStep } from './tls/handshake-trace.js';
export { connectTls, acceptTls } from './socket/connect-full.js';
export { TlsSocket, type TlsTarget } from './socket/socket.js';
export type { TlsSocketOptions, FindPsk } from './socket/socket-options.js';
export type { TlsSocketInfo, TlsSocketLike } from './socket/socket-shape.js';
export type { StaticPsk } from './socket/static-psk.js';
export type { ByteDuplex, WebSocketLike } from './socket/transport.js';
export type { ProtocolVersion } from './tls/protocol-version.js';
