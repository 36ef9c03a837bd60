/**
 * MQTT over TLS-PSK with the MQTT.js client (the `mqtt` package): a stream builder that gives
 * the client a Node-style Duplex over a TLS-PSK socket, in pages, the TLS worker's sockets and
 * Node alike:
 *
 * ```ts
 * import { MqttClient } from 'mqtt';
 * import { connectTls } from 'openssl-psk-wasm';
 * import { mqttStreamBuilder } from 'openssl-psk-wasm/mqtt';
 *
 * const client = new MqttClient(
 *   mqttStreamBuilder(() => connectTls('ws://127.0.0.1:8080/10.0.0.7:8883', { psk: { identity: 'sensor-page', key } })),
 *   { clientId: 'sensor-page', reconnectPeriod: 1000 },
 * );
 * ```
 *
 * The builder opens a new socket each time the client connects, so MQTT.js's reconnection
 * (a broker restarted, a network lost) works as over TCP. `socketDuplex(socket)` is the same
 * Duplex for any other library that speaks over a Node stream.
 *
 * @module openssl-psk-wasm/mqtt
 */
import { Duplex } from 'readable-stream';
import { TlsError, textOf } from '../core/errors.js';
import type { TlsSocketLike } from '../socket/socket-shape.js';

/**
 * What the adapter needs of a TLS socket (the shared socket shape's streams and close):
 * connectTls()'s TlsSocket and the worker's socket both fit.
 */
export type DuplexSocket = Pick<TlsSocketLike, 'readable' | 'writable' | 'close'>;

/**
 * For `new MqttClient(builder, options)`: each call opens a socket with `connect()` and wraps it.
 *
 * @example MQTT.js to a TLS-PSK broker through the bridge
 * ```ts
 * import { MqttClient } from 'mqtt';
 * import { connectTls } from 'openssl-psk-wasm';
 * import { mqttStreamBuilder } from 'openssl-psk-wasm/mqtt';
 *
 * const psk = { identity: 'page-1', key: brokerKey }; // the broker's psk_file line for page-1
 * const client = new MqttClient(
 *   mqttStreamBuilder(() => connectTls('ws://127.0.0.1:8080/10.0.0.7:8883', { psk })),
 *   { clientId: 'page-1', reconnectPeriod: 1000 },
 * );
 * client.on('message', (topic, payload) => console.log(topic, payload.toString()));
 * client.on('connect', () => void client.subscribeAsync('sensors/#'));
 * ```
 */
export function mqttStreamBuilder(connect: () => DuplexSocket): () => Duplex {
  if (typeof connect !== 'function') {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'mqttStreamBuilder() needs a function that opens a socket, e.g. () => connectTls(url, { psk })');
  }
  return () => {
    let socket: DuplexSocket;
    try {
      socket = connect();
    } catch (error) {
      // The client sees the error and closes (and retries, with reconnectPeriod), as for a failed socket.
      const failed = new Duplex({ read() {}, write: (_chunk, _encoding, callback) => callback() });
      // A TlsError keeps its code (MQTT.js reports only errors with a code); anything else becomes one.
      failed.destroy(
        error instanceof TlsError ? error : new TlsError('ERR_TRANSPORT', `could not open a socket: connect() threw ${textOf(error)}`, { cause: error }),
      );
      return failed;
    }
    return socketDuplex(socket);
  };
}

/**
 * A Duplex over the socket: reads pull from its readable (so the socket's backpressure holds),
 * writes go to its writable, several writes made in one tick (MQTT.js corks each packet's
 * pieces) leave as one, end() closes the socket's writing side with close_notify, destroy()
 * closes the socket. A socket error (a TlsError) destroys the Duplex with that error.
 */
export function socketDuplex(socket: DuplexSocket): Duplex {
  const reader = socket.readable.getReader();
  const writer = socket.writable.getWriter();
  let reading = false;
  let peerEnded = false;
  const duplex: Duplex = new Duplex({
    allowHalfOpen: false,
    read() {
      if (reading) return;
      reading = true;
      reader.read().then(
        ({ value, done }) => {
          reading = false;
          if (duplex.destroyed) return; // destroy() cancelled this read: not the peer's end
          if (done) {
            peerEnded = true;
            duplex.push(null);
          } else duplex.push(value); // the stream asks again (read()) while it holds less than its highWaterMark
        },
        (error: unknown) => {
          if (!duplex.destroyed) duplex.destroy(asError(error));
        },
      );
    },
    write(chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void) {
      writer.write(copyOf(chunk)).then(
        () => callback(),
        (error: unknown) => callback(asError(error)),
      );
    },
    writev(pending: ArrayLike<{ chunk: Uint8Array }>, callback: (error?: Error | null) => void) {
      const chunks = Array.from(pending, ({ chunk }) => chunk);
      const joined = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
      let at = 0;
      for (const chunk of chunks) {
        joined.set(chunk, at);
        at += chunk.length;
      }
      writer.write(joined).then(
        () => callback(),
        (error: unknown) => callback(asError(error)),
      );
    },
    final(callback: (error?: Error | null) => void) {
      // The peer has closed (close_notify, and the bridge closes the WebSocket after it): no
      // close_notify of ours can reach it any more, and there is nothing to flush.
      if (peerEnded) return callback();
      writer.close().then(
        () => callback(),
        (error: unknown) => callback(asError(error)),
      );
    },
    destroy(error: Error | null, callback: (error: Error | null) => void) {
      // At once: the client reconnects on 'close', and closing the socket may wait for a
      // close_notify from a peer that is gone (closeTimeoutMs). That finishes on its own.
      reader.cancel().catch(() => {});
      socket.close().catch(() => {});
      callback(error);
    },
  });
  return duplex;
}

/** A chunk of its own (a Buffer may be a view into a pool that is reused). */
function copyOf(chunk: Uint8Array): Uint8Array {
  return new Uint8Array(chunk);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new TlsError('ERR_TRANSPORT', `the socket failed: ${String(error)}`, { cause: error });
}
