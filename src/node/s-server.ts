/**
 * `openssl-psk-wasm s_server`: `openssl s_server` for PSK TLS, with the same flags and
 * meanings. Prints "ACCEPT host:port" once listening (port 0 picks one), then serves one
 * connection at a time: what the client sends goes to standard output, standard input goes
 * to the client; with -rev each line is answered reversed instead, as OpenSSL's -rev does.
 * Unlike OpenSSL's, it binds 127.0.0.1 unless -accept names a host, and -psk_identity is
 * enforced for TLS 1.2 too.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { TlsError } from '../errors.js';
import { loadOpenSSL } from '../loader.js';
import type { SslContext } from '../context.js';
import type { SslSession } from '../session.js';
import { staticPskCallbacks } from '../static-psk.js';
import { acceptTls } from '../socket.js';
import type { ByteDuplex } from '../transport.js';
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

export async function sServer(args: readonly string[], io: Io, { signal }: { signal?: AbortSignal } = {}): Promise<number> {
  const parsed = parseFlags('s_server', SERVER_FLAGS, args);
  if (parsed.has('-help')) {
    io.stdout.write(SERVER_USAGE);
    return 0;
  }
  const quiet = parsed.has('-quiet');
  const reverse = parsed.has('-rev');
  const naccept = value(parsed, '-naccept');
  let remaining = naccept === undefined ? Infinity : Number(naccept);
  if (!Number.isInteger(remaining) || remaining < 1) throw new UsageError('s_server: -naccept takes a positive whole number');
  if (parsed.has('-nocert') && parsed.has('-cert')) throw new UsageError('s_server: -nocert and -cert contradict each other');

  const ossl = await loadOpenSSL();
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
  const { psk, openssl, ...contextOptions } = options;
  void openssl;
  let callbacks = {};
  if (psk) {
    const setup = staticPskCallbacks(ossl, 'server', psk, { tls13: contextOptions.maxVersion !== 'TLSv1.2', maxEarlyData: contextOptions.maxEarlyData ?? 0 });
    sessions.push(...setup.sessions);
    callbacks = setup.callbacks;
  }
  const context = ossl.createContext({ ...contextOptions, ...callbacks, role: 'server' });

  const [host, port] = listenAddress(value(parsed, '-accept') ?? '4433');
  const queue: Socket[] = [];
  let wake: (() => void) | null = null;
  const server = createServer((socket) => {
    queue.push(socket);
    wake?.();
  });
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as { address: string; port: number };
  io.stdout.write(`ACCEPT ${address.address}:${address.port}\n`);
  let active: Socket | undefined;
  const stop = () => {
    server.close();
    active?.destroy(); // a signal ends the connection in progress too, as it does OpenSSL's
    wake?.();
  };
  signal?.addEventListener('abort', stop);

  let failures = 0;
  try {
    while (remaining > 0 && !signal?.aborted) {
      const socket = queue.shift() ?? (await new Promise<void>((resolve) => (wake = resolve)), queue.shift());
      wake = null;
      if (!socket) continue;
      remaining--;
      active = socket;
      if (!(await serveOne(socket, context, options.maxEarlyData, { quiet, reverse, io }))) failures++;
      active = undefined;
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    server.close();
    context.free();
    for (const session of sessions) session.free();
  }
  return failures > 0 && naccept !== undefined ? 1 : 0;
}

/** Serves one connection; resolves false if it failed. */
async function serveOne(
  socket: Socket,
  context: SslContext,
  maxEarlyData: number | undefined,
  { quiet, reverse, io }: { quiet: boolean; reverse: boolean; io: Io },
): Promise<boolean> {
  const tls = acceptTls(Duplex.toWeb(socket) as ByteDuplex, { context, ...(maxEarlyData ? { maxEarlyData } : {}) });
  const onInput = (chunk: Buffer) => void writer?.write(new Uint8Array(chunk)).catch(() => {});
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  try {
    const info = await tls.opened;
    if (!quiet) io.stdout.write(summary(info));
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
    io.stderr.write(`s_server: ${error instanceof TlsError ? `${error.code}: ${error.message}` : String(error)}\n`);
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
