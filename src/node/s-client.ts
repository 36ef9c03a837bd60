/**
 * `openssl-psk-wasm s_client`: `openssl s_client` for PSK TLS, with the same flags and
 * meanings. -connect takes host:port (TCP) or a ws:// URL (through a bridge). Standard input
 * goes to the server, what it sends to standard output. At the end of input the client sends
 * close_notify and exits; with -quiet it keeps reading until the server closes (as OpenSSL's
 * -quiet implies -ign_eof).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { TlsError, textOf, isTlsError } from '../core/errors.js';
import { loadOpenSSL } from '../tls/full-build.js';
import type { OpenSSL } from '../tls/openssl.js';
import type { SslSession } from '../tls/session.js';
import type { TlsSocketOptions } from '../socket/socket-options.js';
import { connectTls } from '../socket/connect-full.js';
import type { TlsSocket, TlsTarget } from '../socket/socket.js';
import type { ByteDuplex } from '../socket/transport.js';
import { UsageError, parseFlags, usage, value, type FlagSpec, type Parsed } from './flags.js';
import { COMMON_FLAGS, summary, tlsOptions } from './tls-flags.js';

export const CLIENT_FLAGS: FlagSpec[] = [
  { flag: '-connect', value: 'host:port|ws://url', help: 'where to connect (default localhost:4433); a ws:// URL goes through a bridge' },
  { flag: '-servername', value: 'name', help: 'server name to send (SNI)' },
  ...COMMON_FLAGS,
  { flag: '-early_data', value: 'file', help: 'send the file as TLS 1.3 early data' },
  { flag: '-sess_out', value: 'file', help: 'write the session (PEM) to file at the end' },
  { flag: '-sess_in', value: 'file', help: 'resume the session in file' },
  { flag: '-help', help: 'this text' },
];

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: { write(text: string | Uint8Array): unknown };
  stderr: { write(text: string): unknown };
}

export const CLIENT_USAGE = usage('s_client', 'A PSK TLS client, like openssl s_client.', CLIENT_FLAGS);

/** `openssl`: the instance to use (default: a new one), e.g. for a test to look into its memory. */
export async function sClient(args: readonly string[], io: Io, { openssl }: { openssl?: OpenSSL } = {}): Promise<number> {
  const parsed = parseFlags('s_client', CLIENT_FLAGS, args);
  if (parsed.has('-help')) {
    io.stdout.write(CLIENT_USAGE);
    return 0;
  }
  const quiet = parsed.has('-quiet');
  const ossl = openssl ?? (await loadOpenSSL());
  const sessions: SslSession[] = [];
  try {
    const options = clientOptions(parsed, ossl, io, sessions);
    const sessOut = value(parsed, '-sess_out');
    const newest = sessOut ? keepNewestSession(options) : null;
    const where = value(parsed, '-connect') ?? 'localhost:4433';
    const socket = connectTls(target(where), options);
    const info = await socket.opened;
    if (!quiet) io.stdout.write(`CONNECTED(${where})\n${summary(info)}`);
    await converse(socket, io, quiet);
    await socket.close();
    if (sessOut && newest) {
      const session = newest.session;
      if (!session) throw new TlsError('ERR_CONFIG', 'no session to write to -sess_out: the server sent no ticket');
      writeFileSync(sessOut, session.toPem(), { mode: 0o600 });
      session.free();
    }
    (io.stdin as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.stderr.write(`s_client: ${isTlsError(error) ? `${error.code}: ${error.message}` : textOf(error)}\n`);
    (io.stdin as NodeJS.ReadableStream & { destroy?(): void }).destroy?.();
    return 1;
  } finally {
    for (const session of sessions) session.free();
  }
}

/** The socket options from the flags; `sessions` collects the sessions read, for the caller to free. */
function clientOptions(parsed: Parsed, ossl: OpenSSL, io: Io, sessions: SslSession[]): TlsSocketOptions {
  const options = tlsOptions(parsed, ossl, 'client', io.stdout, sessions);
  const serverName = value(parsed, '-servername');
  if (serverName) options.serverName = serverName;
  const early = value(parsed, '-early_data');
  if (early) options.earlyData = new Uint8Array(readFileSync(early));
  const sessIn = value(parsed, '-sess_in');
  if (sessIn) {
    const session = ossl.sessionFromPem(readFileSync(sessIn), { wipe: true });
    sessions.push(session);
    options.session = session;
  }
  if (!options.psk && !options.pskUseSession && !options.pskClient && !sessIn) {
    throw new UsageError('s_client: give -psk HEX (and -psk_identity), -psk_session FILE or -sess_in FILE');
  }
  return options;
}

/** -sess_out: keeps the newest session (in TLS 1.3, the last ticket), to write at the end. */
function keepNewestSession(options: TlsSocketOptions): { session: SslSession | null } {
  const kept: { session: SslSession | null } = { session: null };
  options.onNewSession = (session) => {
    kept.session?.free();
    kept.session = session;
  };
  return kept;
}

/**
 * Standard input to the server, what it sends to standard output. At the end of input the
 * client closes (sends close_notify), unless -quiet: then it reads until the server closes.
 */
async function converse(socket: TlsSocket, io: Io, quiet: boolean): Promise<void> {
  const writer = socket.writable.getWriter();
  let inputEnded = false;
  io.stdin.on('data', (chunk: Buffer) => void writer.write(new Uint8Array(chunk)).catch(() => {}));
  io.stdin.on('end', () => {
    inputEnded = true;
    if (!quiet) void socket.close();
  });
  const reader = socket.readable.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) io.stdout.write(r.value);
  if (!inputEnded && !quiet) io.stdout.write('closed by the server\n');
}

function target(where: string): TlsTarget {
  if (/^wss?:\/\//.test(where)) return where;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(where);
  if (!m) throw new UsageError(`s_client: -connect takes host:port or a ws:// URL, got ${JSON.stringify(where)}`);
  return Duplex.toWeb(connect(Number(m[3]), m[1] ?? m[2]!)) as ByteDuplex;
}
