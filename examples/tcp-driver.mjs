// Drives a sans-IO TlsConnection over a Node TCP socket: the loop every transport needs.
// Bytes from the socket go to conn.feed(); whatever OpenSSL produces (conn.drain()) goes back
// to the socket after every step. Used by the demo and by the interop tests.
import { once } from 'node:events';
import { connect } from 'node:net';

export class SocketTls {
  #conn;
  #socket;
  #received = [];
  #receivedBytes = 0;
  #waiters = new Set();
  #error = null;
  #ended = false;
  #onPlaintext;

  /**
   * Takes over `socket` (connected or connecting) for `conn`. With `onPlaintext`, plaintext
   * from the peer goes to it (with this object, e.g. to answer) instead of to receive().
   */
  constructor(conn, socket, { onPlaintext } = {}) {
    this.#conn = conn;
    this.#socket = socket;
    this.#onPlaintext = onPlaintext;
    socket.on('data', (chunk) => this.#step(() => conn.feed(chunk)));
    socket.on('end', () => this.#step(() => conn.feedEnd()));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
  }

  get connection() {
    return this.#conn;
  }

  /** Completes the handshake, within `timeoutMs`. */
  async handshake({ timeoutMs = 5000 } = {}) {
    this.#step(() => {});
    await this.#until(() => this.#conn.handshakeDone, timeoutMs, 'the handshake');
    return this.#conn;
  }

  /** Encrypts and sends `bytes`. */
  send(bytes) {
    this.#conn.write(bytes);
    this.#flush();
  }

  /** Resolves with the next `length` bytes of plaintext from the peer. */
  async receive(length, { timeoutMs = 5000 } = {}) {
    await this.#until(() => this.#receivedBytes >= length, timeoutMs, `${length} bytes`);
    const all = Buffer.concat(this.#received);
    this.#received = [all.subarray(length)];
    this.#receivedBytes -= length;
    return new Uint8Array(all.subarray(0, length));
  }

  /** Sends close_notify and closes the socket. */
  async close() {
    if (!this.#error && this.#conn.handshakeDone && !this.#conn.closeSent) {
      this.#conn.shutdown();
      this.#flush();
    }
    this.#socket.end();
    if (!this.#socket.destroyed) await Promise.race([once(this.#socket, 'close'), sleep(2000)]);
    this.#socket.destroy();
  }

  #step(action) {
    if (this.#error) return;
    try {
      action();
      if (!this.#conn.handshakeDone) this.#conn.handshake();
      if (this.#conn.handshakeDone) {
        let chunk;
        while ((chunk = this.#conn.read()) !== null) {
          if (this.#onPlaintext) {
            this.#onPlaintext(chunk, this);
            continue;
          }
          this.#received.push(chunk);
          this.#receivedBytes += chunk.length;
        }
      }
    } catch (error) {
      this.#flush(); // the alert
      this.#fail(error);
      return;
    }
    this.#flush();
    this.#wake();
  }

  #flush() {
    const out = this.#conn.drain();
    if (out.length && !this.#socket.destroyed) this.#socket.write(out);
  }

  #fail(error) {
    this.#error ??= error;
    this.#wake();
  }

  #wake() {
    for (const wake of this.#waiters) wake();
  }

  async #until(ready, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#error) throw this.#error;
      if (ready()) return;
      if (this.#ended) throw new Error(`the connection closed before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }
}

/** Opens a TCP connection to host:port and runs `conn` over it. */
export function connectTcp(conn, port, host = '127.0.0.1') {
  return new SocketTls(conn, connect({ port, host }));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * A TCP echo server on 127.0.0.1 (random port) whose connections come from `createConnection()`.
 * Resolves with { port, sessions, errors, close() }.
 */
export async function listenTcpEcho(createConnection) {
  const { createServer } = await import('node:net');
  const sessions = [];
  const errors = [];
  const server = createServer((socket) => {
    const tls = new SocketTls(createConnection(), socket, { onPlaintext: (data, self) => self.send(data) });
    sessions.push(tls);
    tls.handshake({ timeoutMs: 10000 }).catch((error) => errors.push(error));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    sessions,
    errors,
    async close() {
      await Promise.all(sessions.map((s) => s.close().catch(() => {})));
      server.close();
      for (const s of sessions) s.connection.free();
    },
  };
}
