/**
 * connectTls() and acceptTls(): a TLS socket shaped like the Direct Sockets / Cloudflare
 * `connect()` socket (opened, readable, writable, close(), closed), running a TlsConnection
 * over a transport (WebSocket URL, open WebSocket, or any byte duplex).
 *
 * Backpressure: the readable holds at most `readHighWaterMark` bytes of plaintext (default
 * 64 KiB) plus one record; the transport is only read when the reader wants more, so a slow
 * reader stops the flow (over a browser WebSocket, which cannot stop its sender, unread
 * ciphertext is capped at `maxBufferedBytes`, default 8 MiB, then ERR_BUFFER_FULL). A write
 * resolves once its records are handed to the transport and the transport has room again.
 *
 * Closing: close() sends close_notify, waits up to `closeTimeoutMs` for the peer's, then
 * closes the transport. The readable ends when the peer's close_notify arrives; a transport
 * that ends without one errors the readable with ERR_TRUNCATED, never a quiet end of file.
 */
import { TlsError, describe, isTlsError, requireBytes, textOf } from '../core/errors.js';
import type { SslContext } from '../tls/context.js';
import type { TlsConnection } from '../tls/connection.js';
import { loadBuild, type ModuleBuild } from '../tls/loader.js';
import type { OpenSSL } from '../tls/openssl.js';
import type { PskAnswer } from '../tls/psk-lookup.js';
import { SslSession, sessionsMade } from '../tls/session.js';
import type { HandshakeStep } from '../core/handshake-step.js';
import { traceInto } from '../tls/handshake-trace.js';
import { readChunks, type TlsSocketInfo, type TlsSocketLike } from './socket-shape.js';
import type { TlsSocketOptions } from './socket-options.js';
import { staticPskContext } from './static-psk.js';
import {
  DuplexTransport,
  WebSocketTransport,
  isPlatformWebSocket,
  openWebSocket,
  waitOpen,
  type ByteDuplex,
  type Transport,
  type WebSocketLike,
} from './transport.js';

/** Where connectTls() speaks: a ws:// or wss:// URL, an open WebSocket (the browser's or the `ws` package's), or a byte duplex. */
export type TlsTarget = string | URL | WebSocketLike | ByteDuplex;

/**
 * Where a socket is. 'opening' until the handshake is done ('opening-read-ended' if the reader
 * cancelled meanwhile); then 'open' both ways until one direction ends: 'read-ended' (the
 * peer's close_notify was read, or the reader cancelled) or 'write-ended' (our close_notify is
 * on its way); 'ended' once both have (the transport then closes), or 'failed' at any point
 * (#error says why). 'ended' and 'failed' are final.
 */
type SocketState = 'opening' | 'opening-read-ended' | 'open' | 'read-ended' | 'write-ended' | 'ended' | 'failed';

/** Codes that mean "the stream ended early", which a transport failure may explain. */
/** Steps traceHandshake records at most (an HRR handshake with tickets has about 15). */
const MAX_TRACE_STEPS = 64;

/** Bytes drained per transport write when the buffer is reused: up to four records, one WebSocket message (the transport's largest). */
const OUT_BUFFER_BYTES = 64 * 1024;

/** halfRttData: the most plaintext sent before the client's Finished (the rest waits for the handshake). */
const HALF_RTT_LIMIT = 64 * 1024;

const STREAM_ENDED = new Set(['ERR_RESET_IN_HANDSHAKE', 'ERR_RESET_IN_RECORD', 'ERR_TRUNCATED', 'ERR_TRANSPORT']);

/** The instance of each build that sockets use unless given one. */
const shared = new Map<ModuleBuild, Promise<OpenSSL>>();

function sharedOpenSSL(build: ModuleBuild): Promise<OpenSSL> {
  let instance = shared.get(build);
  if (!instance) {
    instance = loadBuild(build);
    shared.set(build, instance);
    instance.catch(() => shared.delete(build));
  }
  return instance;
}

/**
 * A TLS socket, from connectTls() or acceptTls(): plaintext streams over the transport, in the
 * shape of the Direct Sockets / Cloudflare `connect()` socket.
 */
export class TlsSocket implements TlsSocketLike {
  /** Resolves when the handshake is complete; rejects with a TlsError if it fails. */
  readonly opened: Promise<TlsSocketInfo>;
  /** Resolves when the socket is closed; rejects with the TlsError that ended it. */
  readonly closed: Promise<void>;
  /** Plaintext from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Plaintext to the peer; closing it sends close_notify. */
  readonly writable: WritableStream<Uint8Array>;

  readonly #role: 'client' | 'server';
  readonly #options: TlsSocketOptions;
  /** The build whose shared instance the socket uses unless `options.openssl` says otherwise. */
  readonly #build: ModuleBuild;
  #transport: Transport | null = null;
  #conn: TlsConnection | null = null;
  readonly #owned: { free(): void }[] = [];
  #sending: Promise<void> = Promise.resolve();
  /** Where #sendPending drains to, for a transport that copies what it is given. */
  #outBuffer: Uint8Array | null = null;
  #receiving: Promise<void> | null = null;
  #earlyData: Uint8Array[] = [];
  /**
   * halfRttData (server): 'waiting' until the server's flight is out; 'open' while writes go
   * out as 0.5-RTT data (early data accepted, handshake not done); 'over' afterwards, or when
   * the early data was rejected or not sent. null without the option.
   */
  #halfRtt: 'waiting' | 'open' | 'over' | null = null;
  /** Plaintext sent as 0.5-RTT data so far (at most HALF_RTT_LIMIT). */
  #halfRttSent = 0;
  /** Readers and writers waiting for early data or for #halfRtt to change. */
  #earlyWaiters: (() => void)[] = [];
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #state: SocketState = 'opening';
  /** What `opened` resolved with; null until the handshake is done. */
  #info: TlsSocketInfo | null = null;
  /** The handshake's steps, with traceHandshake. */
  readonly #trace: HandshakeStep[] | null;
  /** What ended the socket, once it failed. */
  #error: TlsError | null = null;
  #closing: Promise<void> | null = null;
  /** Aborts the findPsk call in progress, if any, when the socket ends. */
  #lookupAbort: AbortController | null = null;
  #rejectOpened!: (error: TlsError) => void;
  #resolveClosed!: () => void;
  #rejectClosed!: (error: TlsError) => void;

  /** @internal Use connectTls() or acceptTls(). */
  constructor(role: 'client' | 'server', target: TlsTarget, options: TlsSocketOptions, build: ModuleBuild) {
    this.#role = role;
    this.#build = build;
    this.#options = options ?? {};
    this.#trace = this.#options.traceHandshake ? [] : null;
    if (this.#options.halfRttData === true && role === 'server') this.#halfRtt = 'waiting';
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {});
    const highWaterMark = this.#options.readHighWaterMark ?? 64 * 1024;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => void (this.#readController = controller),
        pull: (controller) => this.#pull(controller),
        cancel: () => this.#endRead(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark }),
    );
    const aborted = (reason: unknown): TlsError =>
      isTlsError(reason) ? reason : new TlsError('ERR_CLOSED', `the writable was aborted: ${textOf(reason)}`, { cause: reason });
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#writeController = controller;
          // An abort fails the socket at once, even while a write waits (e.g. for the
          // handshake): the sink's abort() below would only run after that write.
          const signal = (controller as { signal?: AbortSignal }).signal;
          // (After the abort has begun: Node 20 asserts if the stream errors inside it.)
          signal?.addEventListener('abort', () => queueMicrotask(() => void this.#fail(aborted(signal.reason))));
        },
        write: (chunk) => this.#write(chunk),
        close: () => this.#closeWrite(),
        abort: (reason) => void this.#fail(aborted(reason)),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    // A WebSocket handed in may already be receiving: listen (and set binaryType) right away.
    let transport: Transport | null = null;
    try {
      transport = transportNow(target, this.#options.maxBufferedBytes);
    } catch {
      // reported by #open
    }
    this.opened = new Promise<TlsSocketInfo>((resolve, reject) => {
      this.#rejectOpened = reject;
      this.#open(target, transport).then(resolve, reject);
    });
    this.opened.catch(() => {});
  }

  /**
   * SSL_get1_session once open: the session to resume later (options.session), with the
   * tickets received so far. The caller owns it (free()). Null before the handshake or after closing.
   */
  getSession(): SslSession | null {
    const conn = this.#conn;
    return this.#info && conn && !conn.freed ? conn.getSession() : null;
  }

  /** Reads the plaintext, chunk by chunk (`for await (const chunk of socket)`), in every engine. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    yield* readChunks(this.readable);
  }

  /** Sends close_notify, waits briefly for the peer's, and closes the transport. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing.then(() => this.closed);
  }

  async #open(target: TlsTarget, transport: Transport | null): Promise<TlsSocketInfo> {
    const o = this.#options;
    this.#transport = transport;
    try {
      // The WebSocket opens while the module downloads and compiles (the first connection of
      // a page waits for the slower of the two, not their sum).
      const opening = toTransport(target, transport, o.maxBufferedBytes);
      let ossl: OpenSSL;
      try {
        [ossl, this.#transport] = await Promise.all([o.openssl ?? sharedOpenSSL(this.#build), opening]);
      } catch (error) {
        // One failed: a transport the other opened meanwhile is closed, not left open.
        opening.then((opened) => (opened === transport ? undefined : opened.close())).catch(() => {});
        throw error;
      }
      // What the transport drops (the unread cap) fails the socket at once, read or not.
      this.#transport.onDiscard?.((error) => void this.#fail(error));
      if (this.#state === 'failed') {
        // closed by the application while both were on their way
        if (this.#transport !== transport) void this.#transport.close();
        throw this.#error;
      }
      if (this.#trace && o.context !== undefined) {
        throw new TlsError(
          'ERR_INVALID_ARGUMENT',
          "traceHandshake needs a context the socket builds: give the options instead of `context`, or trace with the context's onMessage",
        );
      }
      if (o.context !== undefined && o.findPsk !== undefined && !o.context.deferPskLookup) {
        throw new TlsError(
          'ERR_INVALID_ARGUMENT',
          'findPsk with a context needs one made with deferPskLookup: true (or give the options instead of `context`)',
        );
      }
      checkHalfRtt(this.#role, o);
      const ctx = o.context ?? this.#createContext(ossl, o);
      const conn = ctx.createConnection(o.serverName === undefined ? {} : { serverName: o.serverName });
      this.#owned.push(conn);
      this.#conn = conn;
      if (o.session !== undefined) conn.setSession(o.session);
      const early = o.earlyData;
      if (early !== undefined) {
        requireBytes(early, 'earlyData');
        if (this.#role !== 'client') throw new TlsError('ERR_INVALID_ARGUMENT', 'earlyData is for clients; a server accepts it with maxEarlyData');
        conn.writeEarlyData(early);
      }
      await this.#withTimeout(this.#handshake(), o.handshakeTimeoutMs ?? 30000);
      const accepted = conn.earlyDataStatus === 'accepted';
      if (early !== undefined && !accepted && early.length > 0) {
        conn.write(early); // rejected 0-RTT data is sent again, after the handshake: nothing is lost
        await this.#flush();
      }
      this.#info = {
        protocol: conn.protocol ?? '',
        cipher: conn.cipher?.name ?? '',
        sessionReused: conn.sessionReused,
        earlyDataAccepted: accepted,
        keyExchangeGroup: conn.keyExchangeGroup,
        ...(this.#trace ? { handshake: [...this.#trace] } : {}),
      };
      if (this.#state === 'opening') this.#state = 'open';
      else if (this.#state === 'opening-read-ended') this.#state = 'read-ended';
      return this.#info;
    } catch (error) {
      throw this.#fail(error);
    }
  }

  #createContext(ossl: OpenSSL, options: TlsSocketOptions): SslContext {
    const { context, sessions } = staticPskContext(ossl, this.#role, this.#trace ? this.#tracing(options, this.#trace) : options);
    this.#owned.push(...sessions, context); // freed in reverse: the context, then its sessions
    return context;
  }

  /** The options with a message observer that records this connection's handshake into `trace` (and calls the caller's too). */
  #tracing(options: TlsSocketOptions, trace: HandshakeStep[]): TlsSocketOptions {
    const record = traceInto(trace, performance.now());
    const theirs = options.onMessage;
    return {
      ...options,
      onMessage: (message, conn) => {
        // The handshake only, and a bounded number of steps: a peer cannot grow it afterwards
        // (KeyUpdate after KeyUpdate) or during (no honest handshake has this many messages).
        if (conn === this.#conn && this.#info === null && trace.length < MAX_TRACE_STEPS) record(message);
        theirs?.(message, conn);
      },
    };
  }

  async #handshake(): Promise<void> {
    const conn = this.#conn!;
    if (this.#role === 'server' && (this.#options.maxEarlyData ?? 0) > 0) {
      // SSL_read_early_data before the handshake: what it returns goes to the reader first.
      for (;;) {
        const { data, finished, wantPsk } = conn.readEarlyData();
        this.#send();
        if (this.#halfRtt === 'waiting') {
          // The status is 'accepted' once the ClientHello is processed and the flight is out;
          // rejected or absent early data finishes at once.
          if (conn.earlyDataStatus === 'accepted') this.#setHalfRtt('open');
          else if (finished) this.#setHalfRtt('over');
        }
        if (data) {
          this.#earlyData.push(data);
          this.#wakeEarly();
        }
        if (finished) break;
        if (wantPsk) await this.#lookUpPsk(conn);
        else if (!data) await this.#receive();
      }
    }
    for (;;) {
      let state: 'done' | 'want-read' | 'want-psk';
      try {
        state = conn.handshake();
      } finally {
        this.#send(); // the flight, or the alert
      }
      if (state === 'done') {
        if (this.#halfRtt !== null) this.#setHalfRtt('over');
        return;
      }
      if (state === 'want-psk') await this.#lookUpPsk(conn);
      else await this.#receive();
    }
  }

  /**
   * The handshake waits for a PSK (findPsk): asks findPsk about the identities wanted, in the
   * client's order, until one has a PSK, and answers the connection; a failure, a timeout or
   * an unusable answer ends the handshake with ERR_PSK_LOOKUP (internal_error to the client).
   * If the socket ended meanwhile, the answer is dropped: nothing touches the freed connection.
   */
  async #lookUpPsk(conn: TlsConnection): Promise<void> {
    const o = this.#options;
    const findPsk = o.findPsk;
    if (typeof findPsk !== 'function') {
      conn.failPskLookup(new TlsError('ERR_PSK_LOOKUP', 'the context defers PSK lookups (deferPskLookup) but the socket has no findPsk to answer them'));
      return;
    }
    const ms = o.pskLookupTimeoutMs ?? 5000;
    for (const identity of conn.pskWanted ?? []) {
      const since = sessionsMade();
      const controller = new AbortController();
      this.#lookupAbort = controller;
      let answer: PskAnswer;
      try {
        // A late answer, after a timeout: a session the lookup made is freed, as dropped.
        const late = (dropped: PskAnswer) => void (dropped instanceof SslSession && dropped.handOverIfMadeSince(since) && dropped.free());
        answer = await lookupWithin(() => findPsk(identity, { signal: controller.signal }), ms, controller, late);
      } catch (error) {
        if (!this.#ended(conn)) conn.failPskLookup(error);
        return;
      } finally {
        this.#lookupAbort = null;
      }
      // The man page's ownership (README, Ownership), for a lookup: a session made while it ran and
      // returned from it is the socket's, unless kept.
      if (answer instanceof SslSession && answer.handOverIfMadeSince(since)) {
        if (this.#ended(conn)) answer.free();
        else this.#owned.push(answer);
      }
      if (this.#ended(conn)) return;
      try {
        conn.providePsk(identity, answer);
      } catch (error) {
        conn.failPskLookup(error);
        return;
      }
      if (answer !== null) return;
    }
  }

  /** The socket ended (or its connection was freed): a late lookup answer goes nowhere. */
  #ended(conn: TlsConnection): boolean {
    return conn.freed || this.#state === 'failed' || this.#state === 'ended';
  }

  /** Reads from the transport into OpenSSL; concurrent callers share one read. */
  #receive(): Promise<void> {
    this.#receiving ??= (async () => {
      try {
        const bytes = await this.#transport!.read();
        if (this.#state === 'ended' || this.#state === 'failed') return;
        if (bytes === null) this.#conn!.feedEnd();
        else this.#conn!.feed(bytes);
      } finally {
        this.#receiving = null;
      }
    })();
    return this.#receiving;
  }

  /**
   * Sends what OpenSSL produced without waiting for the transport: handshake flights and
   * answers must not wait on a peer that is itself waiting for us to read. A failure ends the
   * socket.
   */
  #send(): void {
    this.#flush().catch((error) => this.#fail(error));
  }

  /** Sends what OpenSSL produced, in order; resolves once the transport has taken it. */
  #flush(): Promise<void> {
    const conn = this.#conn;
    const transport = this.#transport;
    if (!conn || conn.freed || !transport) return this.#sending;
    if (transport.copiesWrites) {
      // Drained when its turn comes, into one buffer reused for every write: the transport has
      // copied the previous bytes by then. Saves allocating a buffer per record (as costly as
      // encrypting it, in Chromium), and sends every record pending at once as one message.
      this.#sending = this.#sending.then(() => this.#sendPending(conn, transport));
      return this.#sending;
    }
    const out = conn.drain();
    if (out.length > 0) this.#sending = this.#sending.then(() => transport.write(out));
    return this.#sending;
  }

  /** What OpenSSL has for the peer, through #outBuffer, until nothing is left (#flush). */
  async #sendPending(conn: TlsConnection, transport: Transport): Promise<void> {
    const buffer = (this.#outBuffer ??= new Uint8Array(OUT_BUFFER_BYTES));
    for (let n; !conn.freed && (n = conn.drainInto(buffer)) > 0;) await transport.write(buffer.subarray(0, n));
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      // halfRttData: early data goes to the reader as it arrives, before `opened`, so that
      // the application can answer it while the handshake is still on its way.
      while (this.#halfRtt !== null && this.#info === null) {
        const early = this.#earlyData.shift();
        if (early) return controller.enqueue(early);
        if (this.#halfRtt === 'over') break; // no more early data: the rest comes after the handshake
        await this.#earlyChange();
      }
      await this.opened;
      for (;;) {
        if (this.#state !== 'open' && this.#state !== 'write-ended') return; // cancelled by the reader, or over
        const early = this.#earlyData.shift();
        if (early) return controller.enqueue(early);
        const conn = this.#conn!;
        const data = conn.read();
        this.#send(); // answers to post-handshake messages
        if (data) return controller.enqueue(data);
        if (conn.peerClosed) {
          controller.close();
          if (!this.#options.allowHalfOpen) await this.#answerClose(conn);
          return await this.#endRead();
        }
        await this.#receive();
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    try {
      if (this.#halfRtt !== null && this.#info === null) {
        requireBytes(chunk, 'a chunk written to the TLS socket');
        const rest = await this.#writeHalfRtt(chunk);
        if (rest.byteLength === 0 && chunk.byteLength > 0) return;
        chunk = rest;
      }
      await this.opened;
      requireBytes(chunk, 'a chunk written to the TLS socket');
      this.#conn!.write(chunk);
      await this.#flush();
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /**
   * halfRttData: sends what it can of `chunk` as 0.5-RTT data (SSL_write_early_data on the
   * server) once the server's flight is out, and returns the rest, which waits for the
   * handshake: all of it if the early data was rejected or not sent, or the limit is reached.
   */
  async #writeHalfRtt(chunk: Uint8Array): Promise<Uint8Array> {
    while (this.#halfRtt === 'waiting') await this.#earlyChange();
    if (this.#halfRtt !== 'open' || (this.#state !== 'opening' && this.#state !== 'opening-read-ended')) return chunk;
    const part = chunk.subarray(0, Math.max(0, HALF_RTT_LIMIT - this.#halfRttSent));
    if (part.byteLength === 0) return chunk;
    this.#conn!.writeEarlyData(part);
    this.#halfRttSent += part.byteLength;
    await this.#flush();
    return chunk.subarray(part.byteLength);
  }

  #setHalfRtt(state: 'open' | 'over'): void {
    this.#halfRtt = state;
    this.#wakeEarly();
  }

  #wakeEarly(): void {
    for (const wake of this.#earlyWaiters.splice(0)) wake();
  }

  /** Until early data arrives, #halfRtt changes, or the handshake ends (rejects if it failed). */
  #earlyChange(): Promise<unknown> {
    return Promise.race([this.opened, new Promise<void>((resolve) => this.#earlyWaiters.push(resolve))]);
  }

  async #closeWrite(): Promise<void> {
    try {
      await this.opened;
      const conn = this.#conn!;
      if (!conn.closeSent) conn.shutdown();
      await this.#flush();
      await this.#endWrite();
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** The peer closed and half-open sockets are not wanted: close our side too. */
  async #answerClose(conn: TlsConnection): Promise<void> {
    if (this.#state !== 'open') return; // our side is closed, or closing, already
    this.#state = 'write-ended';
    await this.#sending.catch(() => {}); // writes already accepted go out before close_notify
    if (!conn.closeSent) conn.shutdown();
    await this.#flush();
    this.#writeController.error(new TlsError('ERR_CLOSED', 'the peer closed the connection (close_notify); nothing more can be sent'));
  }

  async #close(): Promise<void> {
    if (this.#halfRtt === 'open' && this.#halfRttSent > 0) {
      // A 0.5-RTT answer is out: the client gets closeTimeoutMs to finish its handshake, so
      // that the answer ends with close_notify rather than a cut connection.
      await this.#withTimeout(this.opened, this.#options.closeTimeoutMs ?? 2000).catch(() => {});
    }
    if (this.#state === 'opening' || this.#state === 'opening-read-ended') {
      // Still connecting: stop now rather than finish a handshake nobody wants.
      this.#fail(new TlsError('ERR_CLOSED', 'the socket was closed before the handshake finished'), { byUser: true });
    }
    try {
      await this.opened;
    } catch {
      return; // failed (or stopped above) and cleaned up
    }
    if (this.#state === 'ended' || this.#state === 'failed') return;
    const conn = this.#conn!;
    try {
      if (!conn.closeSent) conn.shutdown();
      await this.#flush();
      // Wait for the peer's close_notify: some bridges (websockify) drop bytes sent just
      // before the WebSocket closes, so closing at once could lose ours.
      await this.#withTimeout(this.#untilPeerClosed(conn), this.#options.closeTimeoutMs ?? 2000).catch(() => {});
    } catch {
      // closing anyway
    }
    try {
      this.#readController.close();
    } catch {
      // already closed or errored
    }
    this.#writeController.error(new TlsError('ERR_CLOSED', 'the socket was closed'));
    await this.#finish();
  }

  async #untilPeerClosed(conn: TlsConnection): Promise<void> {
    while (!conn.peerClosed && this.#state !== 'ended' && this.#state !== 'failed') {
      while (conn.read()) {
        // close() discards what the application did not read
      }
      if (conn.peerClosed) return;
      await this.#receive();
    }
  }

  /** The reading side is done: the socket ends if the writing side is too. */
  #endRead(): Promise<void> {
    switch (this.#state) {
      case 'opening': // the reader cancelled before the handshake was done
        this.#state = 'opening-read-ended';
        return Promise.resolve();
      case 'open':
        this.#state = 'read-ended';
        return Promise.resolve();
      case 'write-ended':
        return this.#finish();
      default:
        return Promise.resolve();
    }
  }

  /** The writing side is done: the socket ends if the reading side is too. */
  #endWrite(): Promise<void> {
    if (this.#state === 'open') this.#state = 'write-ended';
    else if (this.#state === 'read-ended') return this.#finish();
    return Promise.resolve();
  }

  /** Both sides are done (or close() says so): what was written goes out, then the transport closes. */
  async #finish(): Promise<void> {
    if (this.#state === 'ended' || this.#state === 'failed') return;
    this.#state = 'ended';
    await this.#sending.catch(() => {});
    await this.#transport?.close();
    this.#release();
    this.#resolveClosed();
  }

  /**
   * Ends the socket with `error` (once): streams errored, alert sent, transport closed. A
   * socket the application closed while it was opening is closed, not failed (`byUser`).
   */
  #fail(error: unknown, { byUser = false } = {}): TlsError {
    if (this.#error) return this.#error;
    let failure = isTlsError(error) ? error : new TlsError('ERR_TRANSPORT', textOf(error), { cause: error });
    // A stream that ended because the transport failed: a bridge's refusal (or our own read
    // cap) is the real reason; otherwise the TLS view stays, with the transport's as detail.
    const transportFailure = this.#transport?.failure;
    if (transportFailure && transportFailure !== failure) {
      if (transportFailure.code.startsWith('ERR_BRIDGE_') || transportFailure.code === 'ERR_BUFFER_FULL') {
        failure = transportFailure.withCause(failure); // whatever TLS saw next is its consequence
      } else if (STREAM_ENDED.has(failure.code)) {
        failure = failure.withCause(transportFailure);
      }
    }
    if (this.#trace && this.#info === null && !failure.handshake) failure = failure.withHandshake([...this.#trace]);
    this.#error = failure;
    this.#lookupAbort?.abort(failure);
    if (this.#state !== 'ended') {
      this.#state = 'failed';
      // (A stream already closed or errored ignores error().)
      this.#readController.error(failure);
      this.#writeController.error(failure);
      const transport = this.#transport;
      void this.#flush()
        .catch(() => {})
        .then(() => transport?.close())
        .finally(() => this.#release());
    }
    this.#rejectOpened(failure); // no effect once opened
    if (byUser) this.#resolveClosed();
    else this.#rejectClosed(failure);
    return failure;
  }

  #release(): void {
    for (const owned of this.#owned.splice(0).reverse()) {
      try {
        owned.free();
      } catch {
        // a connection inside a call frees itself when the call returns (ERR_REENTRANT)
      }
    }
  }

  #withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout>;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TlsError('ERR_TIMEOUT', `no answer from the peer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** halfRttData's checks: a boolean, for a server that accepts early data. */
function checkHalfRtt(role: 'client' | 'server', o: TlsSocketOptions): void {
  const on = o.halfRttData;
  if (on === undefined || on === false) return;
  if (on !== true) throw new TlsError('ERR_INVALID_ARGUMENT', `halfRttData must be a boolean, got ${describe(on)}`);
  if (role !== 'server') throw new TlsError('ERR_INVALID_ARGUMENT', 'halfRttData is for servers (acceptTls): a client sends early data with earlyData');
  if (!((o.maxEarlyData ?? 0) > 0)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'halfRttData answers early data: give maxEarlyData too (the early data the server accepts)');
  }
}

/**
 * Runs one findPsk call, failing it with ERR_PSK_LOOKUP (and aborting its signal) after `ms`;
 * what the lookup answers after that goes to `late`.
 */
async function lookupWithin(
  lookup: () => Promise<PskAnswer> | PskAnswer,
  ms: number,
  controller: AbortController,
  late: (answer: PskAnswer) => void,
): Promise<PskAnswer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answer = Promise.resolve().then(lookup);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TlsError('ERR_PSK_LOOKUP', `the PSK lookup (findPsk) did not answer within ${ms} ms (pskLookupTimeoutMs)`);
      controller.abort(error);
      answer.then(late, () => {});
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The transport for a WebSocket or duplex target, made at once; null for a URL (opened later). */
function transportNow(target: TlsTarget, maxBuffered: number | undefined): Transport | null {
  if (!target || typeof target !== 'object' || target instanceof URL) return null;
  if ('readable' in target && 'writable' in target) return new DuplexTransport(target);
  if ('send' in target && 'readyState' in target) return new WebSocketTransport(target, webSocketOptions(target, maxBuffered));
  return null;
}

/** The transport, open: the one made at once (a WebSocket waited for), or one to a URL. */
async function toTransport(target: TlsTarget, made: Transport | null, maxBuffered: number | undefined): Promise<Transport> {
  if (made) {
    if (made instanceof WebSocketTransport) await waitOpen(target as WebSocketLike);
    return made;
  }
  if (typeof target === 'string' || target instanceof URL) {
    const url = String(target);
    if (!/^wss?:\/\//.test(url)) {
      throw new TlsError(
        'ERR_INVALID_ARGUMENT',
        `the target URL must be ws:// or wss://, got ${JSON.stringify(url)}; for TCP in Node pass Duplex.toWeb(socket)`,
      );
    }
    const ws = await openWebSocket(url);
    return new WebSocketTransport(ws, webSocketOptions(ws, maxBuffered));
  }
  throw new TlsError('ERR_INVALID_ARGUMENT', `the target must be a ws:// URL, a WebSocket, or { readable, writable }; got ${describe(target)}`);
}

/** A WebSocket transport's options: the platform's WebSocket copies what send() is given (the `ws` package's need not). */
function webSocketOptions(ws: WebSocketLike, maxBuffered: number | undefined): { maxBuffered?: number; copiesOnSend: boolean } {
  return { ...(maxBuffered === undefined ? {} : { maxBuffered }), copiesOnSend: isPlatformWebSocket(ws) };
}
