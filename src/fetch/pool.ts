/**
 * Kept-alive TLS connections for pskFetch, per origin: at most `maxPerOrigin` open at once
 * (more requests wait their turn), idle ones closed after `idleMs`. An idle connection keeps
 * one read pending, so a server that closes it (or sends anything) is noticed and it is
 * dropped rather than handed to the next request.
 */
import { TlsError } from '../core/errors.js';
import type { TlsSocketLike } from '../socket/socket-shape.js';

/**
 * What pskFetch needs of a TLS socket (the shared socket shape's handshake, streams and close):
 * connectTls()'s TlsSocket and the worker's socket both fit.
 */
export type FetchSocket = Pick<TlsSocketLike, 'opened' | 'readable' | 'writable' | 'close'>;

export class HttpConnection {
  readonly socket: FetchSocket;
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Requests this connection has carried before the current one. */
  uses = 0;
  /** A read started while idle: the next request's first bytes, or the server's goodbye. */
  #idleRead: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  #idleSettled = false;
  #closed = false;
  /** 'busy' with a request, 'idle' in the pool, or 'gone' (closed, no longer counted). */
  state: 'busy' | 'idle' | 'gone' = 'busy';

  constructor(socket: FetchSocket) {
    this.socket = socket;
    this.reader = socket.readable.getReader();
    this.writer = socket.writable.getWriter();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next bytes from the server (the read started while idle first). */
  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const pending = this.#idleRead;
    this.#idleRead = null;
    return pending ?? this.reader.read();
  }

  /** Parks the connection: a read stays pending, and `onActivity` runs if it settles while idle. */
  park(onActivity: () => void): void {
    const read = this.reader.read();
    this.#idleRead = read;
    this.#idleSettled = false;
    const settled = (): void => {
      if (this.#idleRead !== read) return;
      this.#idleSettled = true;
      onActivity();
    };
    read.then(settled, settled);
  }

  /** True if nothing arrived while idle (the parked read still pending). */
  get stillIdle(): boolean {
    return !this.#idleSettled;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.close().catch(() => {});
  }
}

interface Origin {
  open: number;
  idle: { connection: HttpConnection; timer: ReturnType<typeof setTimeout> }[];
  waiting: (() => void)[];
}

export class ConnectionPool {
  readonly #maxPerOrigin: number;
  readonly #idleMs: number;
  readonly #origins = new Map<string, Origin>();
  #closed = false;

  constructor({ maxPerOrigin, idleMs }: { maxPerOrigin: number; idleMs: number }) {
    this.#maxPerOrigin = maxPerOrigin;
    this.#idleMs = idleMs;
  }

  /**
   * A connection to `origin`: an idle one, or a new one from `open()` once there is room.
   * `signal` stops the wait, and so does `timeoutMs` (ERR_TIMEOUT). The caller gives it back
   * with release() or discard().
   */
  async acquire(origin: string, open: () => FetchSocket, signal: AbortSignal | null, timeoutMs: number): Promise<HttpConnection> {
    const o = this.#origin(origin);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) throw new TlsError('ERR_CLOSED', 'this fetch function was closed (close()); create a new one');
      signal?.throwIfAborted();
      const idle = o.idle.pop();
      if (idle) {
        clearTimeout(idle.timer);
        if (idle.connection.stillIdle) {
          idle.connection.state = 'busy';
          return idle.connection;
        }
        this.#drop(o, idle.connection);
        continue;
      }
      if (o.open < this.#maxPerOrigin) {
        o.open++;
        try {
          return new HttpConnection(open());
        } catch (error) {
          o.open--;
          this.#wakeOne(o);
          throw error;
        }
      }
      await this.#wait(o, signal, deadline, timeoutMs);
      if (signal?.aborted) {
        this.#wakeOne(o); // aborted between its turn and now: the turn is the next waiter's
        signal.throwIfAborted();
      }
    }
  }

  /** Waits for a turn; a turn handed to a waiter that then gives up is passed on. */
  #wait(o: Origin, signal: AbortSignal | null, deadline: number, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const leave = (error: unknown): void => {
        const at = o.waiting.indexOf(wake);
        if (at >= 0) o.waiting.splice(at, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = (): void => leave(signal!.reason);
      const wake = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) {
          this.#wakeOne(o); // this turn is not taken: the next waiter's
          reject(signal.reason);
        } else resolve();
      };
      const timer = setTimeout(
        () =>
          leave(
            new TlsError(
              'ERR_TIMEOUT',
              `no connection to this origin became free within ${timeoutMs} ms: all ${this.#maxPerOrigin} carry responses whose bodies are not read to their end (read or cancel them), or requests under way`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
      o.waiting.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The response is complete and the connection may carry another: keep it for `idleMs` (or the server's shorter keep-alive). */
  release(origin: string, connection: HttpConnection, serverIdleMs?: number): void {
    if (connection.state !== 'busy') return;
    const o = this.#origin(origin);
    if (this.#closed || connection.closed) return this.#drop(o, connection);
    connection.state = 'idle';
    connection.uses++;
    const idleMs = Math.max(0, Math.min(this.#idleMs, serverIdleMs ?? Infinity));
    const entry = { connection, timer: setTimeout(() => this.#expire(o, entry), idleMs) };
    connection.park(() => this.#expire(o, entry));
    o.idle.push(entry);
    this.#wakeOne(o);
  }

  /** The connection cannot carry another request: close it and make room. */
  discard(origin: string, connection: HttpConnection): void {
    const o = this.#origin(origin);
    const at = o.idle.findIndex((entry) => entry.connection === connection);
    if (at >= 0) clearTimeout(o.idle.splice(at, 1)[0]!.timer);
    this.#drop(o, connection);
  }

  /** Closes every idle connection; requests under way finish, later ones fail. */
  close(): void {
    this.#closed = true;
    for (const o of this.#origins.values()) {
      for (const { connection, timer } of o.idle.splice(0)) {
        clearTimeout(timer);
        this.#drop(o, connection);
      }
      for (const wake of o.waiting.splice(0)) wake();
    }
  }

  #expire(o: Origin, entry: Origin['idle'][number]): void {
    const at = o.idle.indexOf(entry);
    if (at < 0) return;
    o.idle.splice(at, 1);
    clearTimeout(entry.timer);
    this.#drop(o, entry.connection);
  }

  /** Closes the connection and makes room for another, once per connection. */
  #drop(o: Origin, connection: HttpConnection): void {
    if (connection.state === 'gone') return;
    connection.state = 'gone';
    connection.close();
    o.open--;
    this.#wakeOne(o);
  }

  #wakeOne(o: Origin): void {
    o.waiting.shift()?.();
  }

  #origin(origin: string): Origin {
    let o = this.#origins.get(origin);
    if (!o) {
      o = { open: 0, idle: [], waiting: [] };
      this.#origins.set(origin, o);
    }
    return o;
  }
}
