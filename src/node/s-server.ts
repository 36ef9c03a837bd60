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
import { textOf, isTlsError } from '../core/errors.js';
import { loadOpenSSL } from '../tls/loader.js';
import type { OpenSSL } from '../tls/openssl.js';
import type { SslSession } from '../tls/session.js';
import { staticPskCallbacks } from '../socket/static-psk.js';
import { acceptTls, type TlsSocket, type TlsSocketInfo } from '../socket/socket.js';
import type { ByteDuplex } from '../socket/transport.js';
import { UsageError, parseFlags, usage, value, type FlagSpec } from './flags.js';
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
  let remaining = limit;
  if (parsed.has('-nocert') && parsed.has('-cert')) throw new UsageError('s_server: -nocert and -cert contradict each other');

  const ossl = openssl ?? (await loadOpenSSL());
  const sessions: SslSession[] = [];
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
  // One context for every connection; a static -psk becomes its callbacks, which know only
  // the one identity (so TLS 1.2 clients with another identity are refused, unlike OpenSSL's).
  const { psk, openssl: instance, ...contextOptions } = options;
  void instance;
  let callbacks = {};
  if (psk) {
    const setup = staticPskCallbacks(ossl, 'server', psk, { tls13: contextOptions.maxVersion !== 'TLSv1.2', maxEarlyData: contextOptions.maxEarlyData ?? 0 });
    sessions.push(...setup.sessions);
    callbacks = setup.callbacks;
  }
  const context = ossl.createContext({ ...contextOptions, ...callbacks, role: 'server' });

  const [host, port] = listenAddress(value(parsed, '-accept') ?? '4433');
  const accepted: Socket[] = [];
  const handshaking = new Set<Socket>();
  const ready: Handshaken[] = [];
  let started = 0;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  // Starts the handshakes of accepted connections, up to MAX_HANDSHAKES at once and -naccept in all.
  const startHandshakes = () => {
    while (accepted.length > 0 && handshaking.size < MAX_HANDSHAKES && started < limit && !signal?.aborted) {
      const socket = accepted.shift()!;
      started++;
      handshaking.add(socket);
      const tls = acceptTls(Duplex.toWeb(socket) as ByteDuplex, { context, ...(options.maxEarlyData ? { maxEarlyData: options.maxEarlyData } : {}) });
      tls.opened.then((info) => ({ socket, tls, info }), (error: unknown) => ({ socket, tls, error })).then((done: Handshaken) => {
        handshaking.delete(socket);
        ready.push(done);
        notify();
        startHandshakes();
      });
    }
  };
  const server = createServer((socket) => {
    socket.on('error', () => {}); // a reset before its turn is that connection's failure only
    accepted.push(socket);
    startHandshakes();
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as { address: string; port: number };
  io.stdout.write(`ACCEPT ${address.address}:${address.port}\n`);
  let active: Socket | undefined;
  const stop = () => {
    server.close();
    // A signal ends the connection in progress too, as it does OpenSSL's, and all waiting ones.
    for (const socket of [...(active ? [active] : []), ...accepted, ...handshaking, ...ready.map((r) => r.socket)]) socket.destroy();
    notify();
  };
  signal?.addEventListener('abort', stop);

  let failures = 0;
  try {
    while (remaining > 0 && !signal?.aborted) {
      const next = ready.shift() ?? (await new Promise<void>((resolve) => (wake = resolve)), ready.shift());
      if (!next) continue;
      remaining--;
      active = next.socket;
      if (!(await serveOne(next, { quiet, reverse, io }))) failures++;
      active = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    server.close();
    for (const socket of [...accepted, ...handshaking]) socket.destroy();
    await Promise.all(ready.splice(0).map(({ tls }) => tls.close().catch(() => {})));
    context.free();
    for (const session of sessions) session.free();
  }
  return failures > 0 && naccept !== undefined ? 1 : 0;
}

/** Serves one connection whose handshake has ended; resolves false if it failed. */
async function serveOne(
  handshaken: Handshaken,
  { quiet, reverse, io }: { quiet: boolean; reverse: boolean; io: Io },
): Promise<boolean> {
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
