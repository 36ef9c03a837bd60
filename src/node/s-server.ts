/**
 * `openssl-psk-wasm s_server`: `openssl s_server` for PSK TLS, with the same flags and
 * meanings. Prints "ACCEPT host:port" once listening (port 0 picks one), then serves one
 * session at a time, until stopped or after -naccept connections: what the client sends goes
 * to standard output, standard input goes to the client; with -rev each line is answered
 * reversed instead, as OpenSSL's -rev does. Unlike OpenSSL's, it binds 127.0.0.1 unless
 * -accept names a host, -psk_identity is enforced for TLS 1.2 too, and handshakes run side by
 * side (up to MAX_HANDSHAKES), so a client that sends nothing holds up no one: it only holds a
 * handshake place until its handshake timeout (30 s).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { isTlsError, textOf } from '../core/errors.js';
import type { TlsSocketInfo } from '../socket/socket-shape.js';
import { acceptTls } from '../socket/connect-full.js';
import type { TlsSocket } from '../socket/socket.js';
import { staticPskContext } from '../socket/static-psk.js';
import type { ByteDuplex } from '../socket/transport.js';
import type { SslContext } from '../tls/context.js';
import { loadOpenSSL } from '../tls/full-build.js';
import type { OpenSSL } from '../tls/openssl.js';
import type { SslSession } from '../tls/session.js';
import { UsageError, parseFlags, usage, value, type FlagSpec, type Parsed } from './flags.js';
import type { Io } from './s-client.js';
import { COMMON_FLAGS, summary, tlsOptions } from './tls-flags.js';

export const SERVER_FLAGS: FlagSpec[] = [
  { flag: '-accept', value: '[host:]port', help: 'where to listen (default 127.0.0.1:4433; port 0 picks a free one)' },
  ...COMMON_FLAGS,
  { flag: '-psk_hint', value: 'hint', help: 'the PSK identity hint (TLS 1.2)' },
  { flag: '-nocert', help: 'no certificate: PSK only (the default when no -cert is given)' },
  { flag: '-cert', value: 'file', help: 'PEM certificate chain, for clients without a PSK' },
  { flag: '-key', value: 'file', help: 'PEM private key of -cert' },
  { flag: '-early_data', help: 'accept TLS 1.3 early data (printed before the rest)' },
  { flag: '-rev', help: 'answer each line reversed (no standard input)' },
  { flag: '-naccept', value: 'n', help: 'exit after n connections' },
  { flag: '-help', help: 'this text' },
];

export const SERVER_USAGE = usage('s_server', 'A PSK TLS server, like openssl s_server.', SERVER_FLAGS);

/** Handshakes in progress at once; further connections wait in the accept queue. */
const MAX_HANDSHAKES = 8;

/** A connection whose handshake has ended, waiting for its turn to be served. */
type Handshaken = { socket: Socket; tls: TlsSocket } & ({ info: TlsSocketInfo } | { error: unknown });

/** `openssl`: the instance to use (default: a new one), e.g. for a test to look into its memory. */
export async function sServer(args: readonly string[], io: Io, { signal, openssl }: { signal?: AbortSignal; openssl?: OpenSSL } = {}): Promise<number> {
  const parsed = parseFlags('s_server', SERVER_FLAGS, args);
  if (parsed.has('-help')) {
    io.stdout.write(SERVER_USAGE);
    return 0;
  }
  const quiet = parsed.has('-quiet');
  const reverse = parsed.has('-rev');
  const naccept = value(parsed, '-naccept');
  // Without -naccept, OpenSSL's s_server serves until stopped; so does this one.
  const limit = naccept === undefined ? Infinity : Number(naccept);
  if (naccept !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new UsageError('s_server: -naccept takes a positive whole number');
  }
  if (parsed.has('-nocert') && parsed.has('-cert')) throw new UsageError('s_server: -nocert and -cert contradict each other');

  const ossl = openssl ?? (await loadOpenSSL());
  const { context, sessions, maxEarlyData } = serverContext(parsed, ossl, io);
  const handshakes = new Handshakes((socket) => acceptTls(Duplex.toWeb(socket) as ByteDuplex, { context, ...(maxEarlyData ? { maxEarlyData } : {}) }), limit);
  const server = createServer((socket) => {
    socket.on('error', () => {}); // a reset before its turn is that connection's failure only
    handshakes.accept(socket);
  });
  let active: Socket | undefined;
  const stop = () => {
    server.close();
    // A signal ends the connection in progress too, as it does OpenSSL's, and all waiting ones.
    active?.destroy();
    handshakes.stop();
  };
  signal?.addEventListener('abort', stop);
  let failures = 0;
  try {
    const [host, port] = listenAddress(value(parsed, '-accept') ?? '4433');
    server.listen(port, host);
    await once(server, 'listening');
    const address = server.address() as { address: string; port: number };
    io.stdout.write(`ACCEPT ${address.address}:${address.port}\n`);
    for (let remaining = limit; remaining > 0 && !signal?.aborted;) {
      const next = await handshakes.next();
      if (!next) continue;
      remaining--;
      active = next.socket;
      if (!(await serveOne(next, { quiet, reverse, io }))) failures++;
      active = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    server.close();
    await handshakes.close();
    context.free();
    for (const session of sessions) session.free();
  }
  return failures > 0 && naccept !== undefined ? 1 : 0;
}

/**
 * The one context of every connection, from the flags. A static -psk becomes its callbacks,
 * which know only the one identity (so TLS 1.2 clients with another identity are refused,
 * unlike OpenSSL's). Free the context, then the sessions.
 */
function serverContext(parsed: Parsed, ossl: OpenSSL, io: Io): { context: SslContext; sessions: SslSession[]; maxEarlyData: number | undefined } {
  const sessions: SslSession[] = [];
  try {
    const options = tlsOptions(parsed, ossl, 'server', io.stdout, sessions);
    const hint = value(parsed, '-psk_hint');
    if (hint) options.pskIdentityHint = hint;
    const cert = value(parsed, '-cert');
    if (cert) {
      options.certificate = readFileSync(cert, 'utf8');
      options.privateKey = readFileSync(value(parsed, '-key') ?? cert, 'utf8');
    }
    if (parsed.has('-early_data')) options.maxEarlyData = 16384;
    if (!options.psk && !options.pskFindSession && !cert) throw new UsageError('s_server: give -psk HEX (and -psk_identity) or -psk_session FILE');
    const built = staticPskContext(ossl, 'server', options);
    return { context: built.context, sessions: [...sessions, ...built.sessions], maxEarlyData: options.maxEarlyData };
  } catch (error) {
    for (const session of sessions) session.free();
    throw error;
  }
}

/**
 * The accepted connections and their handshakes: up to MAX_HANDSHAKES at once and `limit` in
 * all, side by side, so a client that sends nothing holds up no one; each that has ended,
 * opened or failed, waits for its turn in next().
 */
class Handshakes {
  readonly #start: (socket: Socket) => TlsSocket;
  readonly #limit: number;
  readonly #accepted: Socket[] = [];
  readonly #running = new Set<Socket>();
  readonly #ready: Handshaken[] = [];
  #started = 0;
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(start: (socket: Socket) => TlsSocket, limit: number) {
    this.#start = start;
    this.#limit = limit;
  }

  accept(socket: Socket): void {
    this.#accepted.push(socket);
    this.#startMore();
  }

  /** The next connection to serve, once one has ended its handshake (undefined if stopped meanwhile). */
  async next(): Promise<Handshaken | undefined> {
    if (this.#ready.length === 0 && !this.#stopped) await new Promise<void>((resolve) => (this.#wake = resolve));
    return this.#ready.shift();
  }

  /** Cuts every connection not served yet, and wakes next(). */
  stop(): void {
    this.#stopped = true;
    for (const socket of [...this.#accepted, ...this.#running, ...this.#ready.map((r) => r.socket)]) socket.destroy();
    this.#notify();
  }

  /** Cuts what is still accepted or in its handshake; closes what has ended its handshake. */
  async close(): Promise<void> {
    this.#stopped = true;
    for (const socket of [...this.#accepted, ...this.#running]) socket.destroy();
    await Promise.all(this.#ready.splice(0).map(({ tls }) => tls.close().catch(() => {})));
  }

  #startMore(): void {
    while (this.#accepted.length > 0 && this.#running.size < MAX_HANDSHAKES && this.#started < this.#limit && !this.#stopped) {
      const socket = this.#accepted.shift()!;
      this.#started++;
      this.#running.add(socket);
      const tls = this.#start(socket);
      tls.opened
        .then(
          (info) => ({ socket, tls, info }),
          (error: unknown) => ({ socket, tls, error }),
        )
        .then((done: Handshaken) => {
          this.#running.delete(socket);
          this.#ready.push(done);
          this.#notify();
          this.#startMore();
        });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** Serves one connection whose handshake has ended; resolves false if it failed. */
async function serveOne(handshaken: Handshaken, { quiet, reverse, io }: { quiet: boolean; reverse: boolean; io: Io }): Promise<boolean> {
  const { tls } = handshaken;
  const onInput = (chunk: Buffer) => void writer?.write(new Uint8Array(chunk)).catch(() => {});
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  try {
    if ('error' in handshaken) throw handshaken.error;
    if (!quiet) io.stdout.write(summary(handshaken.info));
    writer = tls.writable.getWriter();
    if (!reverse) io.stdin.on('data', onInput);
    let pending = '';
    const reader = tls.readable.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const chunk = r.value;
      if (!reverse) {
        io.stdout.write(chunk);
        continue;
      }
      pending += new TextDecoder().decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        await writer.write(new TextEncoder().encode(`${[...line].reverse().join('')}\n`));
      }
    }
    if (!quiet) io.stdout.write('DONE\n');
    return true;
  } catch (error) {
    io.stderr.write(`s_server: ${isTlsError(error) ? `${error.code}: ${error.message}` : textOf(error)}\n`);
    return false;
  } finally {
    io.stdin.off('data', onInput);
    await tls.close().catch(() => {});
  }
}

function listenAddress(text: string): [string, number] {
  const m = /^(?:(?:\[([^\]]+)\]|([^:]+)):)?(\d+)$/.exec(text);
  if (!m) throw new UsageError(`s_server: -accept takes [host:]port, got ${JSON.stringify(text)}`);
  return [m[1] ?? m[2] ?? '127.0.0.1', Number(m[3])];
}
