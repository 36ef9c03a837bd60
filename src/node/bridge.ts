/**
 * The WebSocket-to-TCP bridge (Node): carries raw TLS bytes between a WebSocket (binary
 * frames, as websockify does, so either bridge serves the same clients) and a TCP server on
 * the allow-list. It sees only ciphertext.
 *
 * - Target: the URL path, ws://bridge/HOST:PORT (or ?target=HOST:PORT); with a single allowed
 *   target, any path means that one (websockify's behaviour). Only exact HOST:PORT entries of
 *   the allow-list are reached: no open proxy, no name resolution games.
 * - Refusals close the WebSocket with a code the client library turns into a typed error:
 *   1008 target or Origin not allowed, 1013 too many connections, 1014 the TCP side failed,
 *   1003 a text frame, 1009 a frame above maxMessageBytes, 1001 idle too long. Close reasons
 *   are fixed texts, never request data (a reason is at most 123 UTF-8 bytes, and what a client
 *   sent is no business of another reader); what the request said goes to the event log.
 * - No handler throws out: a request, however malformed, cannot stop the bridge.
 * - Backpressure both ways: a slow TCP server pauses the WebSocket, a slow WebSocket client
 *   pauses the TCP socket; at most about highWaterMark bytes wait in each direction.
 * - Slow, silent and refused clients hold a bounded number of places for a bounded time, and
 *   a flood of them cannot keep a fresh client out (bridge-admission.ts); idle tunnels close
 *   after idleTimeoutMs, and a closing WebSocket gets CLOSE_MS to answer before it is cut.
 * - When either side closes, so does the other (after what was already sent).
 *
 * @module openssl-psk-wasm/bridge
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { textOf } from '../core/errors.js';
import { Admission, REFUSED_CLOSE_MS, type AdmissionLimits, type EvictionReason } from './bridge-admission.js';

export type { EvictionReason } from './bridge-admission.js';

/** How long a WebSocket the bridge closes may take to answer the close frame before it is cut. */
const CLOSE_MS = REFUSED_CLOSE_MS;

/** startBridge()'s options: what it may reach, who may use it, and its bounds. */
export interface BridgeOptions {
  /** Where to listen, 'HOST:PORT' or { host, port } (default 127.0.0.1 and a free port). */
  listen?:
    | string
    | {
        /** The address to listen on. */
        host: string;
        /** The port (0: a free one). */
        port: number;
      };
  /** TCP targets that may be reached, as 'HOST:PORT'. */
  allow: readonly string[];
  /** Allowed Origin header values (e.g. 'http://127.0.0.1:8080'); omitted: any origin. */
  origins?: readonly string[];
  /** Open tunnels at once before refusing with 1013 (default 64). */
  maxConnections?: number;
  /** Close a tunnel with no traffic either way for this long (default 300 000 ms). */
  idleTimeoutMs?: number;
  /** Largest WebSocket message accepted (default 1 MiB; TLS needs at most 16 KiB + overhead per record). */
  maxMessageBytes?: number;
  /** Bytes allowed to wait in each direction before the sender is paused (default 1 MiB). */
  highWaterMark?: number;
  /** A client must finish the WebSocket upgrade within this long (default 10 000 ms): slow-header clients are cut. */
  upgradeTimeoutMs?: number;
  /** A socket that has sent no byte within this long is cut (default 2 000 ms). */
  firstByteTimeoutMs?: number;
  /** Sockets not (yet) tunnels at once; beyond it the oldest is cut (default 64). */
  maxPendingUpgrades?: number;
  /** Of those, at most this many from one client address; beyond it that address's oldest is cut (default 8). */
  maxPendingPerAddress?: number;
  /**
   * Reverse proxies (IP addresses) whose X-Forwarded-For header names the client: for sockets
   * from them the client address, for the per-address cap and the event log, is the rightmost
   * X-Forwarded-For entry they did not add. Default none: the header is ignored.
   */
  trustedProxies?: readonly string[];
  /** Called for each tunnel event, for logs. */
  onEvent?: (event: BridgeEvent) => void;
}

/**
 * The bridge's event log. Request data (`origin`, `detail`) is cut to MAX_LOGGED characters
 * but otherwise as the client sent it: escape it before printing (the command line does).
 */
export type BridgeEvent =
  /** A tunnel opened. */
  | {
      /** The event's kind. */
      type: 'open';
      /** The tunnel's number, the same in its 'close' event. */
      id: number;
      /** The TCP server, HOST:PORT. */
      target: string;
      /** The request's Origin header, if any. */
      origin: string | undefined;
      /** The client's address. */
      address: string;
    }
  /** `reason` is the fixed close reason; `detail` what in the request was refused (its path or Origin). */
  | {
      /** The event's kind. */
      type: 'refused';
      /** The connection's number. */
      id: number;
      /** The WebSocket close code sent (1008, 1013, …). */
      code: number;
      /** The fixed close reason sent. */
      reason: string;
      /** What in the request was refused: its path or Origin, as sent (cut to MAX_LOGGED). */
      detail: string;
      /** The request's Origin header, if any. */
      origin: string | undefined;
      /** The client's address. */
      address: string;
    }
  /** A tunnel closed. */
  | {
      /** The event's kind. */
      type: 'close';
      /** The tunnel's number, as in its 'open' event. */
      id: number;
      /** The TCP server, HOST:PORT. */
      target: string;
      /** Bytes carried from the WebSocket client to the TCP server. */
      bytesUp: number;
      /** Bytes carried from the TCP server to the WebSocket client. */
      bytesDown: number;
      /** Why it closed. */
      reason: string;
    }
  /** A socket that was not a tunnel was cut: a deadline passed, or its place was needed. */
  | {
      /** The event's kind. */
      type: 'evicted';
      /** The client's address. */
      address: string;
      /** Which bound cut it. */
      why: EvictionReason;
    }
  /** Something failed inside the bridge while handling a connection; that connection was dropped. */
  | {
      /** The event's kind. */
      type: 'error';
      /** The connection's number, if it had one. */
      id: number | undefined;
      /** What failed. */
      message: string;
    };

/** Longest request-derived text an event carries. */
export const MAX_LOGGED = 256;

/** What a bridge holds now and has carried: Bridge.stats(). */
export interface BridgeStats {
  /** Tunnels open now. */
  tunnels: number;
  /** Sockets connected but not tunnels: upgrading, or refused and closing. */
  pendingUpgrades: number;
  /** Tunnels that ended, whose WebSocket close handshake is still running (at most CLOSE_MS each). */
  closing: number;
  /** Bytes queued towards WebSocket clients, summed over the tunnels. */
  queuedToClients: number;
  /** Bytes queued towards TCP servers, summed over the tunnels. */
  queuedToServers: number;
  /** Tunnels opened since the start. */
  opened: number;
  /** WebSockets refused since the start. */
  refused: number;
  /** Sockets cut before they became tunnels, since the start. */
  evicted: number;
  /** Bytes carried from WebSocket clients to TCP servers since the start. */
  bytesUp: number;
  /** Bytes carried from TCP servers to WebSocket clients since the start. */
  bytesDown: number;
}

/** A running bridge, from startBridge(). */
export interface Bridge {
  /** ws://HOST:PORT of the bridge. */
  readonly url: string;
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on (the one chosen, when `listen` asked for a free one). */
  readonly port: number;
  /** Tunnels open now. */
  readonly connections: number;
  /** What the bridge holds now and has carried, for monitoring (and the abuse tests). */
  stats(): BridgeStats;
  /** Stops accepting, closes every tunnel. */
  close(): Promise<void>;
}

/**
 * Starts a bridge; resolves once it listens. Pages then reach an allowed TCP server through
 * it as `${bridge.url}/HOST:PORT`.
 *
 * @example
 * ```ts
 * import { startBridge } from 'openssl-psk-wasm/bridge';
 *
 * const bridge = await startBridge({
 *   listen: '127.0.0.1:8080',
 *   allow: ['10.0.0.7:4433'], // the only TCP server it reaches
 *   origins: ['https://app.example'], // the only page origin it serves
 *   onEvent: (event) => console.error(JSON.stringify(event)),
 * });
 * console.log(`connectTls('${bridge.url}/10.0.0.7:4433', …) reaches the device`);
 * // … later
 * await bridge.close();
 * ```
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const settings = settingsOf(options);
  const log = eventLog(options.onEvent);
  const admission = new Admission(settings.admission, (address, why) => log({ type: 'evicted', address, why }));
  const http = upgradeServer(settings.admission.upgradeTimeoutMs, admission, log);
  const wss = new WebSocketServer({
    server: http,
    maxPayload: settings.maxMessageBytes,
    perMessageDeflate: false,
    // Accept websockify's 'binary' subprotocol if offered; never 'base64'.
    handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
  });
  const tunnels = new Tunnels(settings, admission, log);
  wss.on('connection', (ws, req) => tunnels.open(ws, req));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(settings.listen.port, settings.listen.host, () => resolve());
  });
  // Once listening, a failed accept (EMFILE under a flood) or a server error is logged, not
  // thrown: with no listener, an 'error' event ends the process. ws re-emits the server's.
  http.on('error', (error) => log({ type: 'error', id: undefined, message: textOf(error) }));
  wss.on('error', () => {});
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `ws://${host}:${address.port}`,
    host: address.address,
    port: address.port,
    get connections() {
      return tunnels.size;
    },
    stats() {
      const { tunnels: open, ...rest } = tunnels.stats();
      return { tunnels: open, pendingUpgrades: admission.size, ...rest, evicted: admission.evicted };
    },
    async close() {
      wss.close();
      tunnels.closeAll();
      // A moment for the closing handshakes, then cut whatever is left.
      for (let waited = 0; wss.clients.size > 0 && waited < 1000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      for (const ws of wss.clients) ws.terminate();
      admission.destroyAll();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** BridgeOptions with their defaults, checked. */
interface Settings {
  allow: Set<string>;
  origins: Set<string> | null;
  maxConnections: number;
  idleTimeoutMs: number;
  highWaterMark: number;
  maxMessageBytes: number;
  listen: { host: string; port: number };
  admission: AdmissionLimits;
}

function settingsOf(options: BridgeOptions): Settings {
  const allow = new Set(options.allow.map((target) => normaliseTarget(target, '--allow')));
  if (allow.size === 0) throw new Error('the bridge needs at least one allowed target (--allow HOST:PORT)');
  return {
    allow,
    origins: options.origins ? new Set(options.origins) : null,
    maxConnections: options.maxConnections ?? 64,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    highWaterMark: options.highWaterMark ?? 1 << 20,
    maxMessageBytes: options.maxMessageBytes ?? 1 << 20,
    listen: typeof options.listen === 'string' ? splitHostPort(options.listen, '--listen', 0) : (options.listen ?? { host: '127.0.0.1', port: 0 }),
    admission: {
      maxPending: options.maxPendingUpgrades ?? 64,
      maxPendingPerAddress: options.maxPendingPerAddress ?? 8,
      firstByteTimeoutMs: options.firstByteTimeoutMs ?? 2000,
      upgradeTimeoutMs: options.upgradeTimeoutMs ?? 10_000,
      trustedProxies: options.trustedProxies ?? [],
    },
  };
}

type Log = (event: BridgeEvent) => void;

/** onEvent, never throwing: the application's logger failing is no reason to drop a connection. */
function eventLog(onEvent: ((event: BridgeEvent) => void) | undefined): Log {
  return (event) => {
    try {
      onEvent?.(event);
    } catch {
      // ignored, see above
    }
  };
}

/**
 * The HTTP server ws upgrades on: plain requests get 426, and every socket holds a place in
 * `admission` until it is a tunnel (bridge-admission.ts).
 */
function upgradeServer(upgradeTimeoutMs: number, admission: Admission, log: Log): Server {
  const http: Server = createServer({ headersTimeout: upgradeTimeoutMs, requestTimeout: upgradeTimeoutMs }, (req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' }).end('openssl-psk-wasm bridge: WebSocket only\n');
  });
  const guarded = (fn: () => void, socket: Socket) => {
    try {
      fn();
    } catch (error) {
      log({ type: 'error', id: undefined, message: textOf(error) });
      socket.destroy();
    }
  };
  http.on('connection', (socket: Socket) => guarded(() => admission.admit(socket), socket));
  // Runs before ws's own 'upgrade' listener: the request is here, so is X-Forwarded-For.
  http.on('upgrade', (req: IncomingMessage, socket: Socket) => guarded(() => admission.attribute(socket, req), socket));
  return http;
}

interface Tunnel {
  ws: WebSocket;
  tcp: Socket | null;
}

/** The WebSockets the bridge accepted: each refused with a close code, or run as a tunnel to its target. */
class Tunnels {
  readonly #settings: Settings;
  readonly #admission: Admission;
  readonly #log: Log;
  readonly #open = new Set<Tunnel>();
  /** Tunnels that ended, whose WebSocket close handshake is still running. */
  readonly #closing = new Set<WebSocket>();
  readonly #totals = { opened: 0, refused: 0, bytesUp: 0, bytesDown: 0 };
  #nextId = 1;

  constructor(settings: Settings, admission: Admission, log: Log) {
    this.#settings = settings;
    this.#admission = admission;
    this.#log = log;
  }

  get size(): number {
    return this.#open.size;
  }

  /** A new WebSocket: refused (Origin, target, limit) or run as a tunnel. Never throws. */
  open(ws: WebSocket, req: IncomingMessage): void {
    const id = this.#nextId++;
    const { origins, allow, maxConnections, idleTimeoutMs, highWaterMark } = this.#settings;
    // A refused or failed WebSocket may still receive (malformed) frames: ws reports them here.
    ws.on('error', () => {});
    let tunnel: Tunnel | null = null;
    try {
      const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
      const loggedOrigin = origin === undefined ? undefined : cut(origin);
      const address = this.#admission.clientAddress(req);
      const refuse = (code: number, reason: string, detail: string) => {
        this.#totals.refused++;
        this.#log({ type: 'refused', id, code, reason, detail: cut(detail), origin: loggedOrigin, address });
        this.#admission.refused(req.socket); // keeps its place until it closes, briefly
        ws.close(code, closeReason(reason));
      };
      if (origins && !origins.has(origin ?? '')) return refuse(1008, 'origin not allowed', origin ?? '(no Origin header)');
      const target = chooseTarget(req, allow);
      if (typeof target !== 'string') return refuse(1008, target.refused, req.url ?? '');
      if (this.#open.size >= maxConnections) return refuse(1013, 'too many connections', target);
      const opened: Tunnel = { ws, tcp: null };
      tunnel = opened;
      this.#admission.upgraded(req.socket);
      this.#open.add(opened);
      this.#totals.opened++;
      this.#log({ type: 'open', id, target, origin: loggedOrigin, address });
      runTunnel(
        ws,
        target,
        { idleTimeoutMs, highWaterMark },
        (stats) => this.#ended(opened, id, target, stats),
        (tcp) => (opened.tcp = tcp),
        (error) => this.#log({ type: 'error', id, message: textOf(error) }),
      );
    } catch (error) {
      this.#log({ type: 'error', id, message: textOf(error) });
      if (tunnel) this.#open.delete(tunnel);
      tunnel?.tcp?.destroy();
      ws.terminate();
    }
  }

  #ended(tunnel: Tunnel, id: number, target: string, stats: { bytesUp: number; bytesDown: number; reason: string }): void {
    const { ws } = tunnel;
    this.#open.delete(tunnel);
    if (ws.readyState !== WebSocket.CLOSED) {
      this.#closing.add(ws);
      ws.once('close', () => this.#closing.delete(ws));
    }
    this.#totals.bytesUp += stats.bytesUp;
    this.#totals.bytesDown += stats.bytesDown;
    this.#log({ type: 'close', id, target, ...stats });
  }

  stats(): Omit<BridgeStats, 'pendingUpgrades' | 'evicted'> {
    let queuedToClients = 0;
    let queuedToServers = 0;
    for (const { ws, tcp } of this.#open) {
      queuedToClients += ws.bufferedAmount;
      queuedToServers += tcp?.writableLength ?? 0;
    }
    return { tunnels: this.#open.size, closing: this.#closing.size, queuedToClients, queuedToServers, ...this.#totals };
  }

  /** The bridge is stopping: every tunnel's WebSocket closes with 1001, its TCP side is cut. */
  closeAll(): void {
    for (const { ws, tcp } of this.#open) {
      ws.close(1001, 'bridge shutting down');
      tcp?.destroy();
    }
  }
}

function runTunnel(
  ws: WebSocket,
  target: string,
  { idleTimeoutMs, highWaterMark }: { idleTimeoutMs: number; highWaterMark: number },
  onClose: (stats: { bytesUp: number; bytesDown: number; reason: string }) => void,
  onTcp: (tcp: Socket) => void,
  onError: (error: unknown) => void,
): void {
  const { host, port } = splitHostPort(target, 'target');
  const tcp = connect({ host, port });
  onTcp(tcp);
  let bytesUp = 0;
  let bytesDown = 0;
  let closed = false;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    if (closed) return;
    clearTimeout(idle);
    idle = setTimeout(
      guard(() => finish(1001, 'idle timeout')),
      idleTimeoutMs,
    );
  };
  const finish = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    clearTimeout(idle);
    ws.resume(); // a paused socket would never read the client's answer to our close frame
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, closeReason(reason));
    const cutOff = setTimeout(() => ws.terminate(), CLOSE_MS); // ws alone waits 30 s for the answer
    ws.once('close', () => clearTimeout(cutOff));
    tcp.end();
    setTimeout(() => tcp.destroy(), 1000).unref();
    onClose({ bytesUp, bytesDown, reason });
  };
  // Every handler below runs through this: whatever fails ends this tunnel, never the bridge.
  const guard =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A) => {
      try {
        fn(...args);
      } catch (error) {
        onError(error);
        const wasClosed = closed;
        closed = true;
        clearTimeout(idle);
        ws.terminate();
        tcp.destroy();
        if (!wasClosed) onClose({ bytesUp, bytesDown, reason: 'bridge error' });
      }
    };
  touch();
  ws.pause(); // nothing goes to the TCP side before it is connected
  tcp.once(
    'connect',
    guard(() => ws.resume()),
  );

  ws.on(
    'message',
    guard((data: RawData, isBinary: boolean) => {
      if (closed) return;
      if (!isBinary) return finish(1003, 'binary frames only');
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      bytesUp += bytes.length;
      touch();
      if (!tcp.write(bytes)) ws.pause();
    }),
  );
  tcp.on(
    'drain',
    guard(() => ws.resume()),
  );

  tcp.on(
    'data',
    guard((bytes: Buffer) => {
      bytesDown += bytes.length;
      touch();
      ws.send(bytes, { binary: true }, () => {
        if (ws.bufferedAmount < highWaterMark / 2) tcp.resume();
      });
      if (ws.bufferedAmount >= highWaterMark) tcp.pause();
    }),
  );

  tcp.on(
    'end',
    guard(() => finish(1000, 'the TCP server closed the connection')),
  );
  tcp.on(
    'error',
    guard((error: NodeJS.ErrnoException) => finish(1014, `${target}: ${error.code ?? 'failed'}`)),
  );
  ws.on(
    'close',
    guard(() => finish(1000, 'the WebSocket closed')),
  );
  ws.on(
    'error',
    guard((error: Error) => {
      // ws reports protocol errors (oversized or invalid frames) here, then closes with 1009/1002
      if (!closed) finish(1002, error.message);
    }),
  );
}

/** The allowed target a request asks for, or why not. Total: any request path gets an answer. */
function chooseTarget(req: IncomingMessage, allow: Set<string>): string | { refused: string } {
  let asked: string | null;
  try {
    const url = new URL(req.url ?? '/', 'ws://bridge');
    asked = url.searchParams.get('target') ?? decodeURIComponent(url.pathname.slice(1));
  } catch {
    asked = null; // not a URL, or a malformed %-escape: not HOST:PORT either
  }
  if (asked === '') {
    if (allow.size === 1) return [...allow][0]!;
    return { refused: 'no target: use ws://BRIDGE/HOST:PORT' };
  }
  let target: string;
  try {
    if (asked === null) throw new Error('undecodable');
    target = normaliseTarget(asked, 'target');
  } catch {
    // websockify ignores the path; with a single target, so does this bridge, unless the path
    // names a HOST:PORT (then it must be that target).
    if (allow.size === 1) return [...allow][0]!;
    return { refused: 'target must be HOST:PORT' };
  }
  if (allow.has(target)) return target;
  return { refused: 'target not allowed' };
}

/** A close reason as sent: at most 123 bytes of UTF-8 (RFC 6455 §5.5), cut at a character boundary. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > 123) break;
    out += char;
  }
  return out;
}

/** Request data as an event carries it: at most MAX_LOGGED characters. */
function cut(text: string): string {
  return text.length <= MAX_LOGGED ? text : `${text.slice(0, MAX_LOGGED - 1)}…`;
}

/** 'HOST:PORT' or '[v6]:PORT' to a canonical 'host:port' ('[v6]:port' for IPv6). */
function normaliseTarget(text: string, what: string): string {
  const { host, port } = splitHostPort(text, what);
  return `${host.includes(':') ? `[${host}]` : host.toLowerCase()}:${port}`;
}

function splitHostPort(text: string, what: string, lowestPort = 1): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < lowestPort || port > 65535) throw new Error(`${what} must be HOST:PORT (or [IPv6]:PORT), got ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2]!, port };
}
