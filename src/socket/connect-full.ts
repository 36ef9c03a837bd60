/**
 * connectTls() and acceptTls() of `openssl-psk-wasm/full`: sockets on the full build's shared
 * instance unless given one (`openssl`), so that `context` options may use certificates.
 */
import { fullBuild } from '../tls/full-build.js';
import { TlsSocket, type TlsTarget } from './socket.js';
import type { TlsSocketOptions } from './socket-options.js';
import type { ByteDuplex, WebSocketLike } from './transport.js';

/**
 * Opens a TLS client socket over `target` (connectTls() of `openssl-psk-wasm`), on the full
 * build: the socket's context may verify a server's certificate (`ca`).
 *
 * @example
 * ```ts
 * import { connectTls } from 'openssl-psk-wasm/full';
 *
 * const socket = connectTls('ws://127.0.0.1:8080/10.0.0.7:4433', { psk: { identity: 'dev-1', key } }); // key: a Uint8Array
 * await socket.opened;
 * ```
 */
export function connectTls(target: TlsTarget, options: TlsSocketOptions = {}): TlsSocket {
  return new TlsSocket('client', target, options, fullBuild);
}

/** Serves TLS over an accepted transport (acceptTls() of `openssl-psk-wasm`), on the full build. */
export function acceptTls(transport: WebSocketLike | ByteDuplex, options: TlsSocketOptions = {}): TlsSocket {
  return new TlsSocket('server', transport, options, fullBuild);
}
