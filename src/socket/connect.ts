/**
 * connectTls() and acceptTls() of `openssl-psk-wasm`: sockets on the PSK build's shared instance
 * unless given one (`openssl`). connect-full.ts has the same two for the full build.
 */
import { pskBuild } from '../tls/psk-build.js';
import { TlsSocket, type TlsTarget } from './socket.js';
import type { TlsSocketOptions } from './socket-options.js';
import type { ByteDuplex, WebSocketLike } from './transport.js';

/**
 * Opens a TLS client socket over `target`: a ws:// or wss:// URL, an open WebSocket, or a byte duplex.
 *
 * @example In a page, through the bridge
 * ```ts
 * // npx openssl-psk-wasm bridge --listen 127.0.0.1:8080 --allow 10.0.0.7:4433
 * import { connectTls } from 'openssl-psk-wasm';
 *
 * const socket = connectTls('ws://127.0.0.1:8080/10.0.0.7:4433', { psk: { identity: 'dev-1', key } }); // key: a Uint8Array
 * const { protocol, cipher } = await socket.opened; // 'TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256'
 * const writer = socket.writable.getWriter();
 * await writer.write(new TextEncoder().encode('hello\n'));
 * for await (const chunk of socket) console.log(new TextDecoder().decode(chunk));
 * await socket.close();
 * ```
 */
export function connectTls(target: TlsTarget, options: TlsSocketOptions = {}): TlsSocket {
  return new TlsSocket('client', target, options, pskBuild);
}

/**
 * Serves TLS over an accepted transport: a WebSocket or a byte duplex.
 *
 * @example A Node TCP server with a table of PSKs, echoing
 * ```ts
 * import { createServer } from 'node:net';
 * import { Duplex } from 'node:stream';
 * import { acceptTls } from 'openssl-psk-wasm';
 *
 * const keys = new Map([['dev-1', key]]); // identity → PSK
 * createServer(async (tcp) => {
 *   const socket = acceptTls(Duplex.toWeb(tcp), { pskServer: (conn, identity) => keys.get(identity) ?? null });
 *   await socket.opened;
 *   await socket.readable.pipeTo(socket.writable); // echo until the client's close_notify
 * }).listen(4433, '127.0.0.1');
 * ```
 */
export function acceptTls(transport: WebSocketLike | ByteDuplex, options: TlsSocketOptions = {}): TlsSocket {
  return new TlsSocket('server', transport, options, pskBuild);
}
