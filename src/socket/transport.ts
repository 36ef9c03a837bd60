/**
 * Transports: what carries the ciphertext. One pull-based interface over a WebSocket
 * (browser, worker, or the `ws` package in Node) and over any byte duplex
 * ({ readable, writable } of Uint8Array, e.g. Node's Duplex.toWeb(socket)).
 *
 * read() is pulled by the TLS socket only when its reader wants data, so a transport that can
 * push back (a byte stream; `ws` in Node, paused above 256 KiB unread) never gets far ahead of
 * the application. A browser WebSocket cannot push back: what arrives unread is held up to
 * `maxBuffered` bytes (8 MiB), and beyond that the transport fails with ERR_BUFFER_FULL rather
 * than grow without bound.
 */
import { TlsError, textOf } from '../core/errors.js';
import { nodeWebSocket } from './node-websocket.js';

export interface Transport {
  /** The next bytes from the peer, or null at the end of the stream (see `failure`). Never throws. */
  read(): Promise<Uint8Array | null>;
  /** Resolves once the bytes are handed on and the transport is ready for more. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes gracefully (after pending writes). */
  close(): Promise<void>;
  /** Set once the transport ended abnormally: how, for error messages. */
  readonly failure: TlsError | null;
  /** True if write() has copied the bytes by the time its promise settles: the caller may then reuse the buffer. */
  readonly copiesWrites?: boolean;
  /**
   * Calls `listener` once if the transport fails on its own and drops what it held (a browser
   * WebSocket over `maxBuffered`): the socket must hear it now, not at its next read, which
   * may never come when the application does not read.
   */
  onDiscard?(listener: (error: TlsError) => void): void;
}

/** The WebSocket API the transport needs: the browser's, and the `ws` package's. */
export interface WebSocketLike {
  /** WebSocket.readyState: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued by send() and not yet sent. */
  readonly bufferedAmount: number;
  /** Set to 'arraybuffer' by the transport. */
  binaryType: string;
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** For the 'open', 'message', 'error' and 'close' events. */
  addEventListener(type: string, listener: (event: never) => void): void;
  /** `ws` only: stop reading from the socket (receive backpressure). */
  pause?(): void;
  /** `ws` only: read from the socket again. */
  resume?(): void;
}

/** A byte stream both ways, e.g. a Node TCP socket as `Duplex.toWeb(socket)`. */
export interface ByteDuplex {
  /** Bytes from the peer. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closed at the end. */
  writable: WritableStream<Uint8Array>;
}

const OPEN = 1;
/** Send no more while this much is queued in the WebSocket (bytes). */
const WS_SEND_HIGH_WATER = 1 << 20;
/** A WebSocket that can pause (the `ws` package) stops reading above this much unread. */
const PAUSE_AT = 256 * 1024;
/** Largest message sent: one TLS flight or a few records, never a whole large write at once. */
const MAX_MESSAGE = 64 * 1024;

/**
 * Close codes with a meaning for the bridge (RFC 6455 §7.4 and the IANA registry):
 * 1008 policy (target or Origin not allowed), 1013 try again later (too many connections),
 * 1014 bad gateway (the TCP side failed).
 */
export function closeError(code: number, reason: string): TlsError {
  const said = reason ? `: ${reason}` : '';
  const details = { closeCode: code, closeReason: reason };
  switch (code) {
    case 1008:
      return new TlsError(
        'ERR_BRIDGE_REFUSED',
        `the bridge refused the connection (WebSocket close ${code}${said}); check its --allow and --origin lists`,
        details,
      );
    case 1013:
      return new TlsError('ERR_BRIDGE_BUSY', `the bridge is at its connection limit (WebSocket close ${code}${said}); try again later`, details);
    case 1014:
      return new TlsError('ERR_BRIDGE_UPSTREAM', `the bridge could not reach the TLS server, or lost it (WebSocket close ${code}${said})`, details);
    default:
      return new TlsError('ERR_TRANSPORT', `the WebSocket closed with code ${code}${said}`, details);
  }
}

export class WebSocketTransport implements Transport {
  readonly #ws: WebSocketLike;
  readonly #maxBuffered: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #failure: TlsError | null = null;
  #wake: (() => void) | null = null;
  #closed: Promise<void>;
  #onDiscard: ((error: TlsError) => void) | null = null;
  #discarded: TlsError | null = null;

  readonly copiesWrites: boolean;

  /**
   * `copiesOnSend`: `ws.send()` copies the bytes it is given, as the platform's WebSocket does
   * (WebSockets standard); the `ws` package's may keep them until they are on the wire.
   */
  constructor(ws: WebSocketLike, { maxBuffered = 8 << 20, copiesOnSend = false } = {}) {
    this.#ws = ws;
    this.#maxBuffered = maxBuffered;
    this.copiesWrites = copiesOnSend;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (event: { data: unknown }) => this.#onMessage(event.data));
    let closed!: () => void;
    this.#closed = new Promise((resolve) => (closed = resolve));
    ws.addEventListener('close', (event: { code: number; reason: string }) => {
      // 1000 is a normal end of stream; anything else (1006 abnormal, bridge codes) is a failure.
      if (event.code !== 1000 && event.code !== 1005) this.#failure ??= closeError(event.code, event.reason);
      this.#ended = true;
      closed();
      this.#notify();
    });
    ws.addEventListener('error', (event: { error?: unknown }) => {
      this.#failure ??= new TlsError('ERR_TRANSPORT', 'the WebSocket failed', causeOf(event));
      this.#notify();
    });
  }

  get failure(): TlsError | null {
    return this.#failure;
  }

  onDiscard(listener: (error: TlsError) => void): void {
    if (this.#discarded) listener(this.#discarded);
    else this.#onDiscard = listener;
  }

  #onMessage(data: unknown): void {
    if (this.#failure) return; // after a failure nothing more is taken in: the stream has a gap
    if (typeof data === 'string') {
      this.#fail(new TlsError('ERR_TRANSPORT', 'a text frame arrived where TLS bytes travel in binary frames'), 1003);
      return;
    }
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    if (!bytes) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (this.#queued > PAUSE_AT) this.#ws.pause?.();
    if (this.#queued > this.#maxBuffered) {
      this.#fail(
        new TlsError(
          'ERR_BUFFER_FULL',
          `the peer sent more than ${this.#maxBuffered} bytes that the application has not read; the WebSocket cannot slow it down, so the connection is closed`,
        ),
        1009,
      );
    }
    this.#notify();
  }

  #fail(error: TlsError, code: number): void {
    this.#failure ??= error;
    this.#queue = [];
    this.#queued = 0;
    try {
      this.#ws.close(code, error.code);
    } catch {
      // A browser's WebSocket takes only 1000 and 3000-4999 from a page (1003 and 1009 throw
      // InvalidAccessError): close it without a code rather than leave it open.
      this.#ws.close();
    }
    this.#notify();
    this.#discarded = this.#failure;
    const listener = this.#onDiscard;
    this.#onDiscard = null;
    listener?.(this.#failure);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const next = this.#queue.shift();
      if (next) {
        this.#queued -= next.length;
        if (this.#queued <= PAUSE_AT / 2) this.#ws.resume?.();
        return next;
      }
      // The end, clean or not: the TLS layer tells which, and reports `failure` if not.
      if (this.#ended || this.#failure) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#ws.readyState !== OPEN) {
      // Closing: its close event (and code) is on the way; report that rather than a bare "closed".
      await Promise.race([this.#closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
    }
    if (this.#failure) throw this.#failure;
    if (this.#ws.readyState !== OPEN) throw new TlsError('ERR_TRANSPORT', 'the WebSocket is closed');
    for (let i = 0; i < bytes.length; i += MAX_MESSAGE) this.#ws.send(bytes.subarray(i, i + MAX_MESSAGE));
    // No 'drain' event exists for WebSockets: poll until the queue is low again.
    for (let wait = 1; this.#ws.bufferedAmount > WS_SEND_HIGH_WATER && this.#ws.readyState === OPEN; wait = Math.min(wait * 2, 50)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === OPEN) this.#ws.close(1000);
    await Promise.race([this.#closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
}

export class DuplexTransport implements Transport {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #failure: TlsError | null = null;

  constructor(duplex: ByteDuplex) {
    this.#reader = duplex.readable.getReader();
    this.#writer = duplex.writable.getWriter();
  }

  get failure(): TlsError | null {
    return this.#failure;
  }

  async read(): Promise<Uint8Array | null> {
    try {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      if (!(value instanceof Uint8Array)) throw new TypeError('the transport must carry Uint8Array chunks');
      return value;
    } catch (error) {
      this.#failure ??= new TlsError('ERR_TRANSPORT', `the transport failed: ${textOf(error)}`, { cause: error });
      return null;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    try {
      await this.#writer.ready;
      await this.#writer.write(bytes);
    } catch (error) {
      this.#failure ??= new TlsError('ERR_TRANSPORT', `the transport failed: ${textOf(error)}`, { cause: error });
      throw this.#failure;
    }
  }

  async close(): Promise<void> {
    // Let what was written go out, but never wait on a peer that does not close its side.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closedInTime = await Promise.race([
      this.#writer.close().then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, 1000, false))),
    ]);
    clearTimeout(timer);
    if (!closedInTime) this.#writer.abort().catch(() => {});
    await this.#reader.cancel().catch(() => {});
  }
}

/** Whether `ws` is the platform's own WebSocket (a browser's, a worker's, Node 22's), whose send() copies the bytes. */
export function isPlatformWebSocket(ws: WebSocketLike): boolean {
  const Platform = (globalThis as { WebSocket?: abstract new (...args: never[]) => unknown }).WebSocket;
  return typeof Platform === 'function' && ws instanceof Platform;
}

/** Opens a WebSocket to `url`: the platform's, or in Node (which has none before 22) the `ws` package's. */
export async function openWebSocket(url: string): Promise<WebSocketLike> {
  return waitOpen(await newWebSocket(url), url);
}

/**
 * A WebSocket to `url`, still connecting: hand it to acceptTls() at once, which listens before
 * it opens. Waiting for 'open' first can lose what the peer sent first (a relay that queued the
 * peer's ClientHello sends it as the WebSocket opens, in the same turn as the 'open' event).
 */
export async function newWebSocket(url: string): Promise<WebSocketLike> {
  const Platform = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  const WebSocketClass = Platform ?? (await nodeWebSocket());
  try {
    return new WebSocketClass(url);
  } catch (error) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `cannot open a WebSocket to ${url}: ${textOf(error)}`, { cause: error });
  }
}

/** Resolves when `ws` is open; rejects with a typed error if it closes first. */
export function waitOpen(ws: WebSocketLike, url = 'the WebSocket'): Promise<WebSocketLike> {
  if (ws.readyState === OPEN) return Promise.resolve(ws);
  if (ws.readyState > OPEN) return Promise.reject(new TlsError('ERR_TRANSPORT', `${url} is already closed`));
  return new Promise((resolve, reject) => {
    let failed: { cause?: unknown } = {};
    ws.addEventListener('open', () => resolve(ws));
    ws.addEventListener('error', (event: { error?: unknown }) => (failed = causeOf(event))); // a close event follows, with the code
    ws.addEventListener('close', (event: { code: number; reason: string }) => {
      const error = closeError(event.code, event.reason);
      reject(
        event.code === 1006
          ? new TlsError('ERR_TRANSPORT', `could not open a WebSocket to ${url} (refused or unreachable)`, { closeCode: 1006, ...failed })
          : error,
      );
    });
  });
}

/** What an 'error' event carries: `ws` gives the Error (e.g. ECONNREFUSED); browsers give nothing. */
function causeOf(event: { error?: unknown }): { cause?: unknown } {
  try {
    return event?.error === undefined ? {} : { cause: event.error };
  } catch {
    return {};
  }
}
