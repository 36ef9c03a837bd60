/**
 * HTTP/1.1 on the wire: a request head written out, a response read with http-parser-js (the
 * parser faye-websocket and others run on; pure JavaScript, so it works in every engine and
 * worker). The parser reads chunks through Buffer's `toString(encoding, start, end)`, which a
 * Uint8Array lacks: ParserBytes supplies that one method, so no Buffer polyfill is needed.
 */
import { HTTPParser } from 'http-parser-js';
import { TlsError, textOf } from '../errors.js';

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

/** Reads one response after another from a connection's bytes. Throws ERR_HTTP on malformed input. */
export class ResponseReader {
  readonly #parser: Parser;
  readonly #events: ResponseEvents;
  #failure: TlsError | null = null;

  constructor(events: ResponseEvents) {
    this.#events = events;
    const parser = new HTTPParser(HTTPParser.RESPONSE);
    parser.maxHeaderSize = MAX_HEAD_BYTES;
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const headers: [string, string][] = [];
      for (let i = 0; i + 1 < info.headers.length; i += 2) headers.push([info.headers[i]!, info.headers[i + 1]!]);
      const status = info.statusCode ?? 0;
      checkFraming(headers);
      // Interim responses (100 Continue, 103 Early Hints) have no body: the final one follows.
      // (The parser skips the body when this returns 1.)
      if (status >= 100 && status < 200) return ((this.#interim = true), 1);
      return this.#events.head({ status, statusText: info.statusMessage ?? '', headers, keepAlive: info.shouldKeepAlive }) ? 1 : 0;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      const b = chunk as unknown as Uint8Array;
      this.#events.body(new Uint8Array(b.buffer, b.byteOffset + offset, length).slice());
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      if (this.#interim) this.#interim = false;
      else this.#events.complete();
    };
    strictChunkSizes(parser);
    this.#parser = parser;
  }

  #interim = false;

  /** Feeds bytes from the server. */
  feed(bytes: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    const view = new ParserBytes(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
    let result: unknown;
    try {
      result = this.#parser.execute(view as unknown as Parameters<Parser['execute']>[0]);
    } catch (error) {
      result = error;
    }
    if (result instanceof Error) throw this.#fail(result);
  }

  /** The connection ended: completes a body that runs until close; throws if a response was cut short. */
  end(): void {
    if (this.#failure) throw this.#failure;
    const result = this.#parser.finish();
    if (result instanceof Error) throw this.#fail(result);
  }

  #fail(error: Error): TlsError {
    this.#failure = error instanceof TlsError ? error : new TlsError('ERR_HTTP', `the server's response is not valid HTTP/1.1: ${textOf(error)}`, { cause: error });
    return this.#failure;
  }
}

/**
 * http-parser-js reads a chunk-size line with parseInt(line, 16), so `zz` is taken as the last
 * chunk and the body ends early, silently. RFC 9112 §7.1: chunk-size is 1*HEXDIG, then chunk
 * extensions; anything else is a malformed response.
 */
function strictChunkSizes(parser: Parser): void {
  const p = parser as unknown as { BODY_CHUNKHEAD(): void; consumeLine(): string | undefined; body_bytes: number; state: string };
  p.BODY_CHUNKHEAD = function (this: typeof p): void {
    const line = this.consumeLine();
    if (line === undefined) return;
    if (!/^[0-9A-Fa-f]{1,15}[ \t]*(?:;.*)?$/.test(line)) {
      throw new TlsError('ERR_HTTP', `the server's chunked body has an invalid chunk size (${JSON.stringify(line.slice(0, 20))})`);
    }
    this.body_bytes = parseInt(line, 16);
    this.state = this.body_bytes === 0 ? 'BODY_CHUNKTRAILERS' : 'BODY_CHUNK';
  };
}

/**
 * RFC 9112 §6.3: a Content-Length that is not one decimal number (or several that differ) makes
 * the body's end unknowable; the parser would read such a body to the close instead.
 */
function checkFraming(headers: [string, string][]): void {
  const lengths = new Set<string>();
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'content-length') continue;
    for (const part of value.split(',')) lengths.add(part.trim());
  }
  const [length, ...others] = lengths;
  if (length !== undefined && (others.length > 0 || !/^\d{1,15}$/.test(length))) {
    throw new TlsError('ERR_HTTP', `the server's response has an invalid Content-Length (${JSON.stringify([...lengths].join(', ').slice(0, 40))}); its body cannot be delimited`);
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The request line and headers, ending with the empty line. */
export function requestHead(method: string, target: string, headers: Iterable<[string, string]>): Uint8Array {
  if (!TOKEN.test(method)) throw new TlsError('ERR_INVALID_ARGUMENT', `not an HTTP method: ${JSON.stringify(method.slice(0, 40))}`);
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new TlsError('ERR_INVALID_ARGUMENT', `not a valid HTTP header: ${JSON.stringify(name.slice(0, 40))}`);
    head += `${name}: ${value}\r\n`;
  }
  return new TextEncoder().encode(`${head}\r\n`);
}

/** One chunk of a chunked request body (RFC 9112 §7.1); an empty one ends the body. */
export function chunk(bytes: Uint8Array): Uint8Array {
  const size = new TextEncoder().encode(`${bytes.length.toString(16)}\r\n`);
  const out = new Uint8Array(size.length + bytes.length + 2);
  out.set(size);
  out.set(bytes, size.length);
  out.set([13, 10], size.length + bytes.length);
  return bytes.length === 0 ? new TextEncoder().encode('0\r\n\r\n') : out;
}
