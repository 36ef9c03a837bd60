/**
 * The `openssl-psk-wasm` command. Subcommands:
 *   s_client, s_server   PSK TLS client and server with `openssl s_client`/`s_server` flags
 *   bridge               the WebSocket-to-TCP bridge (--listen, --allow, --origin, …)
 */
import { readFileSync } from 'node:fs';
import { startBridge, type BridgeEvent } from './bridge.js';
import { UsageError } from './flags.js';
import { CLIENT_USAGE, sClient } from './s-client.js';
import { SERVER_USAGE, sServer } from './s-server.js';

const BRIDGE_USAGE = `usage: openssl-psk-wasm bridge --listen HOST:PORT --allow HOST:PORT [--allow HOST:PORT …]
                                [--origin ORIGIN …] [--max-connections N] [--idle-timeout SECONDS]
                                [--max-pending-per-address N] [--first-byte-timeout SECONDS]
                                [--trust-proxy ADDRESS …] [--quiet]
WebSocket (binary frames, websockify-compatible) to TCP, for PSK TLS from browsers.
Only --allow targets are reached; clients pick one with ws://BRIDGE/HOST:PORT.
Behind a reverse proxy, --trust-proxy its address so that X-Forwarded-For names the client.
`;

const USAGE = `usage: openssl-psk-wasm s_client|s_server|bridge [options]   (--help after a command for its options)
       openssl-psk-wasm --version

  s_client   a PSK TLS client, like openssl s_client (-connect host:port or ws://bridge/host:port)
  s_server   a PSK TLS server, like openssl s_server
  bridge     WebSocket (binary frames, websockify-compatible) to TCP, for PSK TLS from browsers
`;

interface BridgeArgs {
  listen: string;
  allow: string[];
  origins: string[];
  maxConnections: number | undefined;
  idleTimeoutMs: number | undefined;
  maxPendingPerAddress: number | undefined;
  firstByteTimeoutMs: number | undefined;
  trustedProxies: string[];
  quiet: boolean;
}

export function parseBridgeArgs(args: readonly string[]): BridgeArgs {
  const parsed: BridgeArgs = {
    listen: '127.0.0.1:8080',
    allow: [],
    origins: [],
    maxConnections: undefined,
    idleTimeoutMs: undefined,
    maxPendingPerAddress: undefined,
    firstByteTimeoutMs: undefined,
    trustedProxies: [],
    quiet: false,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const number = (what: string) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive whole number`);
      return n;
    };
    switch (flag) {
      case '--listen':
        parsed.listen = value();
        break;
      case '--allow':
        parsed.allow.push(value());
        break;
      case '--origin':
        parsed.origins.push(value());
        break;
      case '--max-connections':
        parsed.maxConnections = number(flag);
        break;
      case '--idle-timeout':
        parsed.idleTimeoutMs = number(flag) * 1000;
        break;
      case '--max-pending-per-address':
        parsed.maxPendingPerAddress = number(flag);
        break;
      case '--first-byte-timeout':
        parsed.firstByteTimeoutMs = number(flag) * 1000;
        break;
      case '--trust-proxy':
        parsed.trustedProxies.push(value());
        break;
      case '--quiet':
        parsed.quiet = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (parsed.allow.length === 0) throw new UsageError('at least one --allow HOST:PORT is required: the bridge is not an open proxy');
  return parsed;
}

/** One line of the bridge's log. What a client sent is quoted and escaped to printable ASCII. */
export function describeEvent(event: BridgeEvent): string {
  switch (event.type) {
    case 'open':
      return `#${event.id} open -> ${event.target} for ${event.address} (origin ${event.origin === undefined ? 'none' : printable(event.origin)})`;
    case 'refused':
      return `#${event.id} refused ${event.code} (${event.reason}) for ${event.address}: ${printable(event.detail)}`;
    case 'evicted':
      return `cut a socket from ${event.address}: ${event.why}`;
    case 'close':
      return `#${event.id} closed ${event.target}: ${event.bytesUp} bytes up, ${event.bytesDown} down (${printable(event.reason)})`;
    case 'error':
      return `${event.id === undefined ? '' : `#${event.id} `}error: ${printable(event.message)}`;
  }
}

/** A JSON string literal with everything outside printable ASCII escaped: no line breaks, no terminal controls. */
function printable(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const HELP = new Set(['--help', '-help', '-h', 'help']);

/** "openssl-psk-wasm 0.1.0, OpenSSL 1.1.1w (Debian's 1.1.1w-0+deb11u8 sources)": the package's and the module's build-info.json. */
export function versionLine(): string {
  const read = (path: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as Record<string, unknown>;
  const { version } = read('../../package.json');
  const { openssl } = read('../../wasm/dist/build-info.json');
  const upstream = String(openssl).split('-')[0];
  return `openssl-psk-wasm ${String(version)}, OpenSSL ${upstream} (Debian's ${String(openssl)} sources)\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || HELP.has(command)) {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-version' || command === 'version') {
    process.stdout.write(versionLine());
    return 0;
  }
  const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const usages: Record<string, string> = { s_client: CLIENT_USAGE, s_server: SERVER_USAGE, bridge: BRIDGE_USAGE };
  if (usages[command] !== undefined && rest.length === 1 && HELP.has(rest[0]!)) {
    process.stdout.write(usages[command]);
    return 0;
  }
  try {
    if (command === 's_client') return await sClient(rest, io);
    if (command === 's_server') {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      try {
        return await sServer(rest, io, { signal: stop.signal });
      } finally {
        process.stdin.destroy(); // read from while serving: it would keep the process alive
      }
    }
    if (command === 'bridge') return await bridge(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`openssl-psk-wasm ${command}: ${error.message}\n${usages[command] ?? ''}`);
    return 2;
  }
  process.stderr.write(`openssl-psk-wasm: unknown command ${JSON.stringify(command)}\n${USAGE}`);
  return 2;
}

async function bridge(rest: readonly string[]): Promise<number> {
  const args = parseBridgeArgs(rest);
  const bridge = await startBridge({
    listen: args.listen,
    allow: args.allow,
    ...(args.origins.length ? { origins: args.origins } : {}),
    ...(args.maxConnections ? { maxConnections: args.maxConnections } : {}),
    ...(args.idleTimeoutMs ? { idleTimeoutMs: args.idleTimeoutMs } : {}),
    ...(args.maxPendingPerAddress ? { maxPendingPerAddress: args.maxPendingPerAddress } : {}),
    ...(args.firstByteTimeoutMs ? { firstByteTimeoutMs: args.firstByteTimeoutMs } : {}),
    ...(args.trustedProxies.length ? { trustedProxies: args.trustedProxies } : {}),
    onEvent: (event) => args.quiet || process.stderr.write(`bridge: ${describeEvent(event)}\n`),
  });
  process.stdout.write(
    `bridge listening on ${bridge.url}, allowing ${args.allow.join(', ')}${args.origins.length ? `, origins ${args.origins.join(', ')}` : ' (any origin: add --origin to restrict)'}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await bridge.close();
  return 0;
}
