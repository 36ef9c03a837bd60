/**
 * pskFetch: fetch() over TLS-PSK. A device's HTTPS-PSK API (a BMC's Redfish, an IoT gateway's
 * REST) from a page, a worker or Node, through any socket of connectTls()'s shape:
 *
 * ```ts
 * import { createPskFetch } from 'openssl-psk-wasm/fetch';
 *
 * const pskFetch = createPskFetch({ bridge: 'ws://127.0.0.1:8080', tls: { psk: { identity: 'bmc-admin', key } } });
 * const res = await pskFetch('https://10.0.0.7:8443/redfish/v1/Systems');
 * console.log(res.status, await res.json());
 * ```
 *
 * HTTP/1.1 with Content-Length and chunked bodies both ways; keep-alive (a small pool of
 * connections per origin); AbortSignal; a timeout for the response head; redirects followed
 * within the same origin only. It returns a standard Response whose body streams as it
 * arrives. What a browser's fetch() does around the network (mode, credentials, cache, CORS,
 * cookies) does not apply and is ignored.
 *
 * @module openssl-psk-wasm/fetch
 */
import { TlsError, textOf } from '../core/errors.js';
import { connectTls } from '../socket/connect.js';
import type { TlsSocketOptions } from '../socket/socket-options.js';
import { ResponseReader, chunk, requestHead, type ResponseHead } from './http1.js';
import { ConnectionPool, type FetchSocket, type HttpConnection } from './pool.js';

export type { FetchSocket } from './pool.js';

/** createPskFetch()'s options: how each origin's socket is opened (`connect`, or `bridge`/`target` with `tls`), and the pool's bounds. */
export interface PskFetchOptions {
  /**
   * Opens a TLS socket to `origin` (an https: URL's origin; `hostPort` is its `host:port` with
   * the port always given, 443 by default, as a bridge wants it): connectTls() to a bridge URL
   * or any other target, or a TLS worker's connect() (the key then stays in the worker). Or
   * give `bridge` or `target` with `tls` instead.
   */
  connect?(origin: URL, hostPort: string): FetchSocket;
  /** A bridge's URL (ws:// or wss://): each origin is reached as `${bridge}/${host}:${port}`, with connectTls(…, tls). */
  bridge?: string;
  /** Any connectTls() target (a WebSocket URL such as websockify's, a byte duplex factory's result is not reusable: use `connect`), for every origin. */
  target?: string;
  /** connectTls()'s options for `bridge` or `target`, e.g. { psk: { identity, key } }. */
  tls?: TlsSocketOptions;
  /** Connections kept open per origin at most; more requests wait for one (default 6, as browsers). */
  maxConnectionsPerOrigin?: number;
  /** How long an idle connection is kept for the next request (default 4 000 ms; less if the server's Keep-Alive says so). */
  idleTimeoutMs?: number;
  /** How long to wait for a response's head, from sending the request (default 30 000 ms; then ERR_TIMEOUT). */
  timeoutMs?: number;
  /** Redirects followed at most, within the origin (default 20, as fetch). */
  maxRedirects?: number;
}

/** A fetch() over TLS-PSK; close() ends its kept-alive connections. */
export interface PskFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Closes the idle connections; later calls fail with ERR_CLOSED. */
  close(): void;
}

interface Prepared {
  url: URL;
  method: string;
  headers: Headers;
  /** Bytes (replayable), a stream (sent chunked, once), or none. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  redirect: RequestRedirect;
  signal: AbortSignal | null;
}

/** Bytes of a response body read ahead of the caller, so that a small response frees its connection unread. */
const READ_AHEAD = 64 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
/** Headers the connection owns: the caller's are dropped (fetch() forbids them too). */
const CONNECTION_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'te', 'trailer', 'upgrade']);

/**
 * A fetch() over TLS-PSK, with its own pool of kept-alive connections.
 *
 * @example Through the bridge
 * ```ts
 * // npx openssl-psk-wasm bridge --listen 127.0.0.1:8080 --allow 10.0.0.7:8443
 * import { createPskFetch } from 'openssl-psk-wasm/fetch';
 *
 * const psk = { identity: 'bmc-admin', key: deviceKey }; // deviceKey: the device's PSK, a Uint8Array
 * const pskFetch = createPskFetch({ bridge: 'ws://127.0.0.1:8080', tls: { psk } });
 * const res = await pskFetch('https://10.0.0.7:8443/redfish/v1/Systems');
 * console.log(res.status, await res.json());
 * pskFetch.close(); // closes the kept-alive connections
 * ```
 *
 * @example With the key in the TLS worker, HTTP in the page
 * ```ts
 * import { createPskFetch } from 'openssl-psk-wasm/fetch';
 * import { createTlsWorker } from 'openssl-psk-wasm/worker';
 *
 * const worker = await createTlsWorker();
 * await worker.importPsk('bmc-admin', keyBuffer); // an ArrayBuffer, transferred to the worker
 * const pskFetch = createPskFetch({
 *   connect: (origin, hostPort) => worker.connect(`ws://127.0.0.1:8080/${hostPort}`, { identity: 'bmc-admin' }),
 * });
 * const systems = await (await pskFetch('https://10.0.0.7:8443/redfish/v1/Systems')).json();
 * ```
 */
export function createPskFetch(options: PskFetchOptions): PskFetch {
  const connect = connectorOf(options);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRedirects = options.maxRedirects ?? 20;
  const pool = new ConnectionPool({ maxPerOrigin: options.maxConnectionsPerOrigin ?? 6, idleMs: options.idleTimeoutMs ?? 4_000 });

  const pskFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let request = await prepare(input, init);
    for (let redirects = 0; ; redirects++) {
      const response = await exchangeWithRetry(request);
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null || request.redirect === 'manual') {
        return labelled(response, request.url, redirects > 0);
      }
      await response.body?.cancel().catch(() => {});
      let next: URL;
      try {
        next = new URL(location, request.url);
      } catch (error) {
        throw new TlsError('ERR_HTTP_REDIRECT', `the server redirects to a Location that is not a URL (${JSON.stringify(location.slice(0, 80))})`, {
          cause: error,
        });
      }
      if (request.redirect === 'error') throw new TlsError('ERR_HTTP_REDIRECT', `the server redirects to ${next.href} and redirect is 'error'`);
      if (next.origin !== request.url.origin) {
        throw new TlsError(
          'ERR_HTTP_REDIRECT',
          `the server redirects to another origin (${next.origin}); pskFetch follows redirects within ${request.url.origin} only (use redirect: 'manual' to see it)`,
        );
      }
      if (redirects >= maxRedirects) throw new TlsError('ERR_HTTP_REDIRECT', `more than ${maxRedirects} redirects`);
      request = redirected(request, response.status, next);
    }
  };

  /** A request on a pooled connection; once more on a new one if a kept-alive connection turns out closed. */
  async function exchangeWithRetry(request: Prepared): Promise<Response> {
    const origin = request.url.origin;
    for (let attempt = 0; ; attempt++) {
      const connection = await pool.acquire(origin, () => connect(new URL(origin)), request.signal, timeoutMs);
      const reused = connection.uses > 0;
      try {
        return await exchange(connection, request);
      } catch (error) {
        pool.discard(origin, connection);
        const replayable = !(request.body instanceof ReadableStream);
        if (reused && attempt === 0 && replayable && error instanceof NoAnswer) continue;
        throw error instanceof NoAnswer ? error.cause : error;
      }
    }
  }

  /** Sends the request and resolves with the response once its head arrived; the body streams. */
  async function exchange(connection: HttpConnection, request: Prepared): Promise<Response> {
    const { signal } = request;
    signal?.throwIfAborted();
    const queue: Uint8Array[] = [];
    let head: ResponseHead | null = null;
    let complete = false;
    let extra = false;
    const noBodyFor = (status: number): boolean => request.method === 'HEAD' || NULL_BODY.has(status);
    const reader = new ResponseReader({
      head(h) {
        head = h;
        return noBodyFor(h.status);
      },
      body: (bytes) => void queue.push(bytes),
      complete: () => void (complete = true),
    });
    let answered = false;
    /** Reads and parses the next bytes; false at the end of the connection. */
    const pump = async (): Promise<boolean> => {
      const { value, done } = await connection.read();
      if (done) {
        reader.end();
        if (!answered && !head) throw new NoAnswer(new TlsError('ERR_HTTP', 'the server closed the connection without answering'));
        return false;
      }
      answered = true;
      if (reader.feed(value)) extra = true; // bytes after the response: the connection is not reused
      return true;
    };

    await withDeadline(connection.socket.opened, timeoutMs, signal, 'no TLS connection');
    let sent = false;
    const progress = { onWrite: () => {} };
    const sending = send(connection, request, () => progress.onWrite()).then(() => void (sent = true));
    sending.catch(() => {});
    const readingHead = (async () => {
      try {
        while (!head) {
          if (!(await pump())) break;
        }
      } catch (error) {
        throw !answered && isConnectionEnd(error) ? new NoAnswer(error) : error;
      }
    })();
    // The head's deadline runs from the end of the request (an upload may take its time); a
    // failed request body fails the request at once; the server may answer before the end.
    await untilHead(readingHead, sending, progress, timeoutMs, signal);
    const h = head as ResponseHead | null;
    if (!h) throw new TlsError('ERR_HTTP', 'the server closed the connection in the middle of its response head');
    if (h.status < 200 || h.status > 599) throw new TlsError('ERR_HTTP', `the server answered with status ${h.status}, which a Response cannot have (200-599)`);
    let headers: Headers;
    try {
      headers = new Headers();
      for (const [name, value] of h.headers) headers.append(name, value);
      new Response(null, { status: 200, statusText: h.statusText }); // the reason phrase as fetch() accepts it
    } catch (error) {
      throw new TlsError('ERR_HTTP', `the server's response cannot be represented: ${textOf(error)} (status ${h.status})`, { cause: error });
    }

    // The connection goes back to the pool as soon as the whole response has arrived, whether
    // or not the caller reads the body (a `(await pskFetch(url)).status` must not hold it): up
    // to READ_AHEAD bytes are read ahead of the caller, then reading waits for the caller.
    let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
    const onAbort = (): void => {
      try {
        controller?.error(signal!.reason);
      } catch {
        // already closed
      }
      finish(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    /** The connection's part is over: back to the pool, or closed. Aborting no longer matters then. */
    const finish = (reusable: boolean): void => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      if (reusable && sent && h.keepAlive && !extra) pool.release(request.url.origin, connection, keepAliveMs(h.headers));
      else pool.discard(request.url.origin, connection);
    };
    let queued = queue.reduce((n, b) => n + b.length, 0);
    let failure: unknown = null;
    let reading: Promise<void> | null = null;
    /** Reads once more from the connection (one read at a time); a failure is kept for the body. */
    const advance = (): Promise<void> =>
      (reading ??= (async () => {
        try {
          const before = queue.length;
          if (!(await pump()) && !complete) {
            throw new TlsError('ERR_HTTP', 'the server closed the connection before the end of the response body');
          }
          for (let i = before; i < queue.length; i++) queued += queue[i]!.length;
          if (complete) finish(true);
        } catch (error) {
          failure ??= typed(error);
          finish(false);
        } finally {
          reading = null;
        }
      })());
    let readingAhead = false;
    const readAhead = async (): Promise<void> => {
      if (readingAhead) return;
      readingAhead = true;
      while (!complete && failure === null && !finished && queued < READ_AHEAD) await advance();
      readingAhead = false;
    };

    let body: ReadableStream<Uint8Array> | null = null;
    if (noBodyFor(h.status)) {
      finish(complete);
    } else {
      if (complete) finish(true);
      body = new ReadableStream<Uint8Array>(
        {
          start: (c) => void (controller = c),
          pull: async (c) => {
            while (queue.length === 0 && !complete && failure === null && !finished) await advance();
            const next = queue.shift();
            if (next) {
              queued -= next.length;
              c.enqueue(next);
              void readAhead();
            } else if (failure !== null) {
              c.error(failure);
            } else if (complete) {
              c.close();
            }
          },
          cancel: () => finish(complete), // a response already read in full leaves the connection usable
        },
        { highWaterMark: 0 },
      );
      void readAhead();
    }
    return new Response(body, { status: h.status, statusText: h.statusText, headers });
  }

  return Object.assign(pskFetch, { close: () => pool.close() });
}

/** How pskFetch opens a socket to an origin: exactly one of connect, bridge, target. */
function connectorOf(options: PskFetchOptions): (origin: URL) => FetchSocket {
  const hostPort = (origin: URL): string => `${origin.hostname}:${origin.port || '443'}`;
  const given = (['connect', 'bridge', 'target'] as const).filter((k) => options?.[k] !== undefined);
  if (given.length !== 1) {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      `createPskFetch() needs one of { connect: (origin) => socket }, { bridge: 'ws://…', tls: { psk } } or { target, tls: { psk } }${given.length ? `, not ${given.join(' and ')}` : ''}`,
    );
  }
  const { connect, bridge, target, tls = {} } = options;
  if (connect !== undefined) {
    if (typeof connect !== 'function') throw new TlsError('ERR_INVALID_ARGUMENT', 'connect must be a function (origin) => socket');
    return (origin) => {
      try {
        return connect(origin, hostPort(origin));
      } catch (error) {
        throw error instanceof TlsError
          ? error
          : new TlsError('ERR_TRANSPORT', `could not open a socket to ${origin.origin}: connect() threw ${textOf(error)}`, { cause: error });
      }
    };
  }
  const base = bridge ?? target!;
  if (typeof base !== 'string' || !/^wss?:\/\//.test(base)) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `${bridge !== undefined ? 'bridge' : 'target'} must be a ws:// or wss:// URL`);
  }
  if (bridge !== undefined) return (origin) => connectTls(`${bridge.replace(/\/+$/, '')}/${hostPort(origin)}`, tls);
  return () => connectTls(base, tls);
}

/** Writes the request head and body. */
async function send(connection: HttpConnection, request: Prepared, onWrite: () => void): Promise<void> {
  const { url, method, body } = request;
  const headers: [string, string][] = [['Host', url.host]];
  request.headers.forEach((value, name) => {
    if (!CONNECTION_HEADERS.has(name)) headers.push([name, value]);
  });
  if (!request.headers.has('accept')) headers.push(['Accept', '*/*']);
  if (body instanceof Uint8Array) headers.push(['Content-Length', String(body.length)]);
  else if (body) headers.push(['Transfer-Encoding', 'chunked']);
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') headers.push(['Content-Length', '0']);
  const { writer } = connection;
  await writer.write(requestHead(method, `${url.pathname}${url.search}`, headers));
  onWrite();
  if (body instanceof Uint8Array) {
    if (body.length > 0) await writer.write(body);
  } else if (body) {
    const reader = body.getReader();
    try {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          throw new TlsError('ERR_INVALID_ARGUMENT', `the request body stream failed: ${textOf(error)}`, { cause: error });
        }
        if (next.done) break;
        if (!(next.value instanceof Uint8Array)) throw new TlsError('ERR_INVALID_ARGUMENT', 'a request body stream must carry Uint8Array chunks');
        if (next.value.length > 0) await writer.write(chunk(next.value));
        onWrite();
      }
    } catch (error) {
      reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
    await writer.write(chunk(new Uint8Array(0)));
  }
}

/** Normalises fetch()'s arguments. Headers given in `init` are taken as they are (a Request's lose the forbidden ones). */
async function prepare(input: string | URL | Request, init: RequestInit): Promise<Prepared> {
  const isRequest = typeof Request !== 'undefined' && input instanceof Request;
  let url: URL;
  try {
    url = new URL(isRequest ? input.url : String(input));
  } catch (error) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `not a URL: ${JSON.stringify(String(isRequest ? input.url : input).slice(0, 80))}`, { cause: error });
  }
  if (url.protocol !== 'https:') throw new TlsError('ERR_INVALID_ARGUMENT', `pskFetch speaks HTTPS over TLS-PSK: the URL must be https:, got ${url.protocol}`);
  if (url.username || url.password) throw new TlsError('ERR_INVALID_ARGUMENT', 'credentials in the URL are not sent; use an Authorization header');
  const method = normaliseMethod(init.method ?? (isRequest ? input.method : 'GET'));
  let headers: Headers;
  try {
    headers = new Headers(init.headers ?? (isRequest ? input.headers : undefined));
  } catch (error) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `the headers are not valid: ${textOf(error)}`, { cause: error });
  }
  if (isRequest && init.body === undefined && input.bodyUsed)
    throw new TlsError('ERR_INVALID_ARGUMENT', "the Request's body was already read: a Request can be fetched once (clone() it first)");
  const source = init.body !== undefined ? init.body : isRequest && input.body ? await input.arrayBuffer() : null;
  let body: Prepared['body'] = null;
  if (source instanceof ReadableStream) body = source as ReadableStream<Uint8Array>;
  else if (source !== null && source !== undefined) {
    // A Response serialises every other body type as fetch would, with its default content type.
    const serialised = new Response(source as BodyInit);
    body = new Uint8Array(await serialised.arrayBuffer());
    const type = serialised.headers.get('content-type');
    if (type && !headers.has('content-type')) headers.set('content-type', type);
  }
  if (body && (method === 'GET' || method === 'HEAD')) throw new TlsError('ERR_INVALID_ARGUMENT', `a ${method} request cannot have a body`);
  const redirect = init.redirect ?? (isRequest ? input.redirect : 'follow');
  if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error')
    throw new TlsError('ERR_INVALID_ARGUMENT', `redirect must be 'follow', 'manual' or 'error'`);
  return { url, method, headers, body, redirect, signal: init.signal ?? (isRequest ? input.signal : null) };
}

function normaliseMethod(method: unknown): string {
  if (typeof method !== 'string') throw new TlsError('ERR_INVALID_ARGUMENT', `the method must be a string, got ${typeof method}`);
  const upper = method.toUpperCase();
  if (['CONNECT', 'TRACE', 'TRACK'].includes(upper)) throw new TlsError('ERR_INVALID_ARGUMENT', `the ${upper} method is not allowed`);
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}

/** The request to follow a redirect with (fetch's rules: 303, and 301/302 after POST, become GET without a body). */
function redirected(request: Prepared, status: number, url: URL): Prepared {
  const toGet = (status === 303 && request.method !== 'HEAD') || ((status === 301 || status === 302) && request.method === 'POST');
  if (toGet) {
    const headers = new Headers(request.headers);
    for (const name of ['content-type', 'content-encoding', 'content-language', 'content-location']) headers.delete(name);
    return { ...request, url, method: 'GET', headers, body: null };
  }
  if (request.body instanceof ReadableStream) {
    throw new TlsError('ERR_HTTP_REDIRECT', `a ${status} redirect must resend the body, and a stream body can be sent once only`);
  }
  return { ...request, url };
}

/** The Response as fetch() returns it: with its URL and whether it was redirected. */
function labelled(response: Response, url: URL, wasRedirected: boolean): Response {
  const bare = new URL(url);
  bare.hash = ''; // as fetch(): the fragment is not part of the response's URL
  Object.defineProperty(response, 'url', { value: bare.href });
  Object.defineProperty(response, 'redirected', { value: wasRedirected });
  return response;
}

/** Keep-Alive: timeout=N from the server, as the longest idle time to keep the connection (1 s less). */
function keepAliveMs(headers: [string, string][]): number | undefined {
  const value = headers.find(([name]) => name.toLowerCase() === 'keep-alive')?.[1];
  const timeout = value && /(?:^|[,\s])timeout=(\d+)/i.exec(value)?.[1];
  return timeout ? Math.max(0, Number(timeout) - 1) * 1000 : undefined;
}

/** A kept-alive connection ended before any answer: the request may be sent again on a new one. */
class NoAnswer extends Error {
  constructor(override readonly cause: unknown) {
    super('no answer');
  }
}

function isConnectionEnd(error: unknown): boolean {
  return error instanceof TlsError && ['ERR_TRUNCATED', 'ERR_CLOSED', 'ERR_TRANSPORT', 'ERR_RESET_IN_RECORD', 'ERR_HTTP'].includes(error.code);
}

function typed(error: unknown): unknown {
  if (error instanceof TlsError || (error instanceof Error && error.name === 'AbortError')) return error;
  return new TlsError('ERR_HTTP', `the response failed: ${textOf(error)}`, { cause: error });
}

/** `promise`, failing with ERR_TIMEOUT after `ms` or with the signal's reason when it aborts. */
function withDeadline<T>(promise: Promise<T>, ms: number, signal: AbortSignal | null, what = 'no response from the server'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TlsError('ERR_TIMEOUT', `${what} within ${ms} ms`)), ms);
    if (signal) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return Promise.race([promise, stop]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

/**
 * Waits for the response head. Fails with the request's own failure if sending it fails, with
 * the signal's reason, or with ERR_TIMEOUT after `ms` without progress: without a write of the
 * request going through while it is sent, then without the head once it is sent (an upload may
 * take its time; the server may also answer before the end of it).
 */
function untilHead(
  readingHead: Promise<void>,
  sending: Promise<void>,
  progress: { onWrite: () => void },
  ms: number,
  signal: AbortSignal | null,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let sent = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (error?: unknown): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      progress.onWrite = () => {};
      if (error === undefined) resolve();
      else reject(error);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          settle(
            new TlsError(
              'ERR_TIMEOUT',
              sent ? `no response from the server within ${ms} ms of the request` : `the request could not be sent: no progress for ${ms} ms`,
            ),
          ),
        ms,
      );
    };
    const onAbort = (): void => settle(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    progress.onWrite = arm;
    arm();
    readingHead.then(() => settle(), settle);
    sending.then(() => {
      sent = true;
      arm();
    }, settle);
  });
}
