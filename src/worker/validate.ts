/**
 * The worker's checks on what the page sends. The page may be compromised: every argument is
 * checked for its type, range and size before anything uses it, and option objects are rebuilt
 * from the known names only (an unknown name, `__proto__` included, is refused).
 */
import { boolean, bytes, count, kindOf, nonEmptyString, oneOf, plainChecks, refuse, string, stringList, type Check } from '../core/checks.js';
import { TlsError } from '../core/errors.js';
import { SOCKET_OPTIONS } from '../socket/socket-options.js';
import { CONTEXT_OPTIONS } from '../tls/context.js';
import type { PassphraseOptions, SocketChannel, StartOptions, WorkerSocketOptions } from './protocol.js';

export { bytes, count, kindOf, string };

export const identity = nonEmptyString;

export const socketId: Check<number> = (value, what) =>
  Number.isSafeInteger(value) && (value as number) >= 1 ? (value as number) : refuse(what, 'a socket number of at least 1', value);

export const arrayBuffer: Check<ArrayBuffer> = (value, what) =>
  value instanceof ArrayBuffer ? value : refuse(what, 'an ArrayBuffer (it is transferred, not copied)', value);

const role = oneOf('client', 'server');

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

/**
 * The options a worker socket takes from the page: the plain-data ones of the context's and
 * the socket's schemas (CONTEXT_OPTIONS, SOCKET_OPTIONS), and its PSK by identity.
 */
const WORKER_SOCKET_OPTIONS = {
  ...plainChecks(CONTEXT_OPTIONS),
  ...plainChecks(SOCKET_OPTIONS),
  identity,
  identities: stringList,
  asyncLookup: boolean,
} satisfies { [K in keyof WorkerSocketOptions]-?: Check<unknown> };

type Assert<T extends true> = T;
/** Compile-time: nothing crosses that WorkerSocketOptions does not name (spread members escape `satisfies`). */
export type WorkerOptionsChecked = Assert<[Exclude<keyof typeof WORKER_SOCKET_OPTIONS, keyof WorkerSocketOptions>] extends [never] ? true : false>;

const PASSPHRASE_OPTIONS = {
  iterations: count,
  hash: oneOf('SHA-256', 'SHA-384', 'SHA-512'),
  length: count,
  cipher: string,
} satisfies { [K in keyof PassphraseOptions]-?: Check<PassphraseOptions[K]> };

export const socketOptions: Check<WorkerSocketOptions> = (value, what) => options<WorkerSocketOptions>(WORKER_SOCKET_OPTIONS as never, value, what);
export const passphraseOptions: Check<PassphraseOptions> = (value, what) => options<PassphraseOptions>(PASSPHRASE_OPTIONS, value, what);
/** An http(s) or blob: URL, as the page gives it for the worker's .wasm. */
const moduleUrl: Check<string> = (value, what) => {
  const text = string(value, what);
  let parsed: URL;
  try {
    parsed = new URL(text, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    return refuse(what, 'a URL', value);
  }
  if (!['https:', 'http:', 'blob:', 'file:'].includes(parsed.protocol)) return refuse(what, 'an http(s) URL', value);
  return parsed.href;
};
export const startOptions: Check<StartOptions> = (value, what) => options<StartOptions>({ wasmUrl: moduleUrl }, value, what);
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
