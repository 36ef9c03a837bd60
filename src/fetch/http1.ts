/**
 * HTTP/1.1 on the wire: a request head written out, a response read with http-parser-js (the
 * parser faye-websocket and others run on; pure JavaScript, so it works in every engine and
 * worker). The parser reads chunks through Buffer's `toString(encoding, start, end)`, which a
 * Uint8Array lacks: ParserBytes supplies that one method, so no Buffer polyfill is needed.
 */
import { HTTPParser } from 'http-parser-js';
import { TlsError, textOf } from '../core/errors.js';

type Parser = InstanceType<typeof HTTPParser>;

/** Longest response head accepted (status line and headers), as Node's default. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A view with the one Buffer method the parser calls: latin1 text of a range. */
class ParserBytes extends Uint8Array {
  override toString(_encoding?: string, start = 0, end = this.length): string {
    let text = '';
    for (let i = start; i < end; i += 4096) text += String.fromCharCode(...this.subarray(i, Math.min(end, i + 4096)));
    return text;
  }
}

export interface ResponseHead {
  status: number;
  statusText: string;
  /** Name/value pairs as received, in order (a name may repeat). */
  headers: [string, string][];
  /** False if the server said it closes the connection after this response. */
  keepAlive: boolean;
}

export interface ResponseEvents {
  /** The head of a final (non-1xx) response. Return true if it has no body (HEAD request, 204, 304). */
  head(head: ResponseHead): boolean;
  body(bytes: Uint8Array): void;
  complete(): void;
}

/** Thrown from the parser's callback to stop it at the end of the response (what follows is not parsed). */
const COMPLETE = Symbol('response complete');

/**
 * Reads one response from a connection's bytes (after interim 1xx ones). Throws ERR_HTTP on
 * malformed input. Once the response is complete it parses nothing more: feed() then returns
 * true if bytes beyond the response arrived (the connection cannot carry another request).
 */
export class ResponseReader {
  readonly #parser: Parser;
  readonly #events: ResponseEvents;
  #failure: TlsError | null = null;
  #interim = false;
  #complete = false;

  constructor(events: ResponseEvents) {
    this.#events = events;
    const parser = new HTTPParser(HTTPParser.RESPONSE);
    parser.maxHeaderSize = MAX_HEAD_BYTES;
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < info.headers.length; i += 2) headers.push([info.headers[i]!, info.headers[i + 1]!]);
      const status = info.statusCode ?? 0;
      const { reusable } = checkFraming(headers);
      // Interim responses (100 Continue, 103 Early Hints) have no body: the final one follows.
      // (The parser skips the body when this returns 1.)
      if (status >= 100 && status < 200) return ((this.#interim = true), 1);
      return this.#events.head({ status, statusText: info.statusMessage ?? '', headers, keepAlive: info.shouldKeepAlive && reusable }) ? 1 : 0;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      const b = chunk as unknown as Uint8Array;
      this.#events.body(new Uint8Array(b.buffer, b.byteOffset + offset, length).slice());
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      if (this.#interim) {
        this.#interim = false;
        return;
      }
      this.#complete = true;
      this.#events.complete();
      throw COMPLETE;
    };
    strictChunks(parser);
    this.#parser = parser;
  }

  /** Feeds bytes from the server; true if some of them lie beyond the complete response. */
  feed(bytes: Uint8Array): boolean {
    if (this.#failure) throw this.#failure;
    if (this.#complete) return bytes.length > 0;
    const parser = this.#parser as unknown as LineState;
    const view = new ParserBytes(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
    let result: unknown;
    try {
      result = this.#parser.execute(view as unknown as Parameters<Parser['execute']>[0]);
    } catch (error) {
      result = error;
    }
    if (result === COMPLETE) return parser.offset < parser.end;
    if (result instanceof Error) throw this.#fail(result);
    // A line the parser is still collecting (a chunk size, a trailer) counts against the same
    // bound as the head: a server must not grow it for ever.
    if (parser.line.length > MAX_HEAD_BYTES) {
      throw this.#fail(new TlsError('ERR_HTTP', `the server's response has a line longer than ${MAX_HEAD_BYTES} bytes`));
    }
    return false;
  }

  /** The connection ended: completes a body that runs until close; throws if a response was cut short. */
  end(): void {
    if (this.#failure) throw this.#failure;
    if (this.#complete) return;
    let result: unknown;
    try {
      result = this.#parser.finish();
    } catch (error) {
      result = error;
    }
    if (result === COMPLETE) return;
    if (result instanceof Error) throw this.#fail(result);
  }

  #fail(error: Error): TlsError {
    this.#failure =
      error instanceof TlsError ? error : new TlsError('ERR_HTTP', `the server's response is not valid HTTP/1.1: ${textOf(error)}`, { cause: error });
    return this.#failure;
  }
}

/** The parser's internals that strictChunks() and the line bound use. */
interface LineState {
  BODY_CHUNKHEAD(): void;
  BODY_CHUNKTRAILERS(): void;
  consumeLine(): string | undefined;
  nextRequest(): void;
  body_bytes: number;
  state: string;
  line: string;
  offset: number;
  end: number;
}

/**
 * http-parser-js reads a chunk-size line with parseInt(line, 16), so `zz` is taken as the last
 * chunk and the body ends early, silently. RFC 9112 §7.1: chunk-size is 1*HEXDIG, then chunk
 * extensions; anything else is a malformed response. Trailers are read and dropped (a
 * Response has no trailers), at most MAX_HEAD_BYTES of them.
 */
function strictChunks(parser: Parser): void {
  const p = parser as unknown as LineState;
  p.BODY_CHUNKHEAD = function (this: LineState): void {
    const line = this.consumeLine();
    if (line === undefined) return;
    if (!/^[0-9A-Fa-f]{1,15}[ \t]*(?:;.*)?$/.test(line)) {
      throw new TlsError('ERR_HTTP', `the server's chunked body has an invalid chunk size (${JSON.stringify(line.slice(0, 20))})`);
    }
    this.body_bytes = parseInt(line, 16);
    this.state = this.body_bytes === 0 ? 'BODY_CHUNKTRAILERS' : 'BODY_CHUNK';
  };
  let trailerBytes = 0;
  p.BODY_CHUNKTRAILERS = function (this: LineState): void {
    const line = this.consumeLine();
    if (line === undefined) return;
    if (line !== '') {
      trailerBytes += line.length + 2;
      if (trailerBytes > MAX_HEAD_BYTES) throw new TlsError('ERR_HTTP', `the server's chunked body has more than ${MAX_HEAD_BYTES} bytes of trailers`);
      return;
    }
    this.nextRequest();
  };
}

/**
 * RFC 9112 §6: how the body ends must be certain. A Content-Length that is not one decimal
 * number (a list, even of equal values, which the parser would read as NaN and so as no
 * body), or a Transfer-Encoding other than `chunked` alone (the parser would read the chunks
 * as a body running to the close), is a malformed response. With both headers, chunked wins
 * and the connection is not reused (§6.3: it may be an attempt at request smuggling).
 */
function checkFraming(headers: [string, string][]): { reusable: boolean } {
  const lengths: string[] = [];
  const codings: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') lengths.push(value.trim());
    else if (lower === 'transfer-encoding') codings.push(...value.split(',').map((c) => c.trim().toLowerCase()));
  }
  if (lengths.length > 1 || (lengths.length === 1 && !/^\d{1,15}$/.test(lengths[0]!))) {
    throw new TlsError(
      'ERR_HTTP',
      `the server's response has an invalid Content-Length (${JSON.stringify(lengths.join(', ').slice(0, 40))}); its body cannot be delimited`,
    );
  }
  if (codings.length > 0 && !(codings.length === 1 && codings[0] === 'chunked')) {
    throw new TlsError(
      'ERR_HTTP',
      `the server's response uses a transfer coding pskFetch does not read (${JSON.stringify(codings.join(', ').slice(0, 40))}); only chunked`,
    );
  }
  return { reusable: !(lengths.length > 0 && codings.length > 0) };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The request line and headers, ending with the empty line. */
export function requestHead(method: string, target: string, headers: Iterable<[string, string]>): Uint8Array {
  if (!TOKEN.test(method)) throw new TlsError('ERR_INVALID_ARGUMENT', `not an HTTP method: ${JSON.stringify(method.slice(0, 40))}`);
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value))
      throw new TlsError('ERR_INVALID_ARGUMENT', `not a valid HTTP header: ${JSON.stringify(name.slice(0, 40))}`);
    head += `${name}: ${value}\r\n`;
  }
  // Latin-1, as fetch() sends header values (Headers allows code points up to 0xFF only).
  return Uint8Array.from(`${head}\r\n`, (c) => c.charCodeAt(0) & 0xff);
}

/** One chunk of a chunked request body (RFC 9112 §7.1); an empty one ends the body. */
export function chunk(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return new TextEncoder().encode('0\r\n\r\n');
  const size = new TextEncoder().encode(`${bytes.length.toString(16)}\r\n`);
  const out = new Uint8Array(size.length + bytes.length + 2);
  out.set(size);
  out.set(bytes, size.length);
  out.set([13, 10], size.length + bytes.length);
  return out;
}
