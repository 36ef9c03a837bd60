/**
 * The worker's checks on what the page sends. The page may be compromised: every argument is
 * checked for its type, range and size before anything uses it, and option objects are rebuilt
 * from the known names only (an unknown name, `__proto__` included, is refused).
 */
import { TlsError } from '../core/errors.js';
import type { PassphraseOptions, SocketChannel, WorkerSocketOptions } from './protocol.js';

/** Longest string the worker takes from the page (identities, suite lists, PEM). */
const MAX_STRING = 64 * 1024;
/** Most identities a server socket may be given. */
const MAX_LIST = 1024;

type Check<T> = (value: unknown, what: string) => T;

function refuse(what: string, expected: string, value: unknown): never {
  throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be ${expected}, got ${kindOf(value)}`);
}

/** The kind of a value, never its content (it may be a key passed by mistake). */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)} of ${value.byteLength} bytes`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

export const string: Check<string> = (value, what) =>
  typeof value === 'string' && value.length <= MAX_STRING ? value : refuse(what, `a string of at most ${MAX_STRING} characters`, value);

export const identity: Check<string> = (value, what) => {
  const s = string(value, what);
  return s === '' ? refuse(what, 'a non-empty string', value) : s;
};

export const boolean: Check<boolean> = (value, what) => (typeof value === 'boolean' ? value : refuse(what, 'true or false', value));

export const count: Check<number> = (value, what) =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : refuse(what, 'a whole number of at least 0', value);

export const socketId: Check<number> = (value, what) =>
  Number.isSafeInteger(value) && (value as number) >= 1 ? (value as number) : refuse(what, 'a socket number of at least 1', value);

export const bytes: Check<Uint8Array> = (value, what) => (value instanceof Uint8Array ? value : refuse(what, 'a Uint8Array', value));

export const arrayBuffer: Check<ArrayBuffer> = (value, what) =>
  value instanceof ArrayBuffer ? value : refuse(what, 'an ArrayBuffer (it is transferred, not copied)', value);

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) return refuse(what, `an array of at most ${MAX_LIST} strings`, value);
  return value.map((item, i) => string(item, `${what}[${i}]`));
}

const stringOrList: Check<string | string[]> = (value, what) => (Array.isArray(value) ? stringList(value, what) : string(value, what));

const version: Check<'TLSv1.2' | 'TLSv1.3'> = (value, what) =>
  value === 'TLSv1.2' || value === 'TLSv1.3' ? value : refuse(what, "'TLSv1.2' or 'TLSv1.3'", value);

const role: Check<'client' | 'server'> = (value, what) => (value === 'client' || value === 'server' ? value : refuse(what, "'client' or 'server'", value));

const url: Check<string> = (value, what) => {
  const s = string(value, what);
  if (!/^wss?:\/\//i.test(s)) refuse(what, 'a ws:// or wss:// URL', value);
  return s;
};

/** A plain object whose own names are all in `checks`; returned rebuilt from the checked values. */
function options<T extends object>(checks: { [K in keyof T]-?: Check<T[K]> }, value: unknown, what: string): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    return refuse(what, 'a plain object', value);
  }
  const out = {} as T;
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(checks, name)) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `${what}: unknown option ${JSON.stringify(name.slice(0, 64))} (see WorkerSocketOptions)`);
    }
    const item = (value as Record<string, unknown>)[name];
    if (item === undefined) continue;
    const key = name as keyof T;
    Object.defineProperty(out, key, { value: checks[key](item, `${what}.${name}`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const SOCKET_OPTIONS = {
  identity,
  identities: stringList,
  earlyData: bytes,
  serverName: string,
  handshakeTimeoutMs: count,
  closeTimeoutMs: count,
  readHighWaterMark: count,
  maxBufferedBytes: count,
  allowHalfOpen: boolean,
  minVersion: version,
  maxVersion: version,
  ciphersuites: stringOrList,
  cipherList: stringOrList,
  groups: stringOrList,
  allowNoDheKex: boolean,
  serverPreference: boolean,
  maxEarlyData: count,
  numTickets: count,
  pskDigestFirst: boolean,
  certificate: string,
  privateKey: string,
  ca: string,
  verify: boolean,
  pskIdentityHint: string,
} satisfies { [K in keyof WorkerSocketOptions]-?: Check<unknown> };

const PASSPHRASE_OPTIONS = {
  iterations: count,
  hash: (value, what) => (value === 'SHA-256' || value === 'SHA-384' || value === 'SHA-512' ? value : refuse(what, "'SHA-256', 'SHA-384' or 'SHA-512'", value)),
  length: count,
  cipher: string,
} satisfies { [K in keyof PassphraseOptions]-?: Check<PassphraseOptions[K]> };

export const socketOptions: Check<WorkerSocketOptions> = (value, what) => options<WorkerSocketOptions>(SOCKET_OPTIONS as never, value, what);
export const passphraseOptions: Check<PassphraseOptions> = (value, what) => options<PassphraseOptions>(PASSPHRASE_OPTIONS, value, what);
export const importOptions: Check<{ cipher?: string }> = (value, what) => options<{ cipher?: string }>({ cipher: string }, value, what);
export { role, url };

export const channel: Check<SocketChannel> = (value, what) => {
  if (value === null || typeof value !== 'object') return refuse(what, 'a socket channel', value);
  const c = value as Record<string, unknown>;
  if (c['kind'] === 'port' && c['port'] instanceof MessagePort) return { kind: 'port', port: c['port'] };
  if (c['kind'] === 'streams' && c['toPage'] instanceof WritableStream && c['fromPage'] instanceof ReadableStream) {
    return { kind: 'streams', toPage: c['toPage'], fromPage: c['fromPage'] };
  }
  return refuse(what, 'a socket channel (a MessagePort, or a WritableStream and a ReadableStream)', value);
};

/** Checks the number of arguments of a call. */
export function arity(args: readonly unknown[], min: number, max: number, method: string): void {
  if (args.length < min || args.length > max) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `${method}() takes ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`);
  }
}
