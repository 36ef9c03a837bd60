/**
 * Checks of values that crossed from code the library does not trust (the page, for the TLS
 * worker): each returns the value typed, or throws ERR_INVALID_ARGUMENT saying what was
 * expected. A refusal describes the value by its kind and size alone (kindOf), never by its
 * content, which may be a key passed by mistake, and without calling into it (a getter or a
 * Proxy of a compromised page would run).
 */
import { TlsError } from './errors.js';

/** Checks `value` (named `what` in the error) and returns it typed. */
export type Check<T> = (value: unknown, what: string) => T;

/** Longest string taken from untrusted code (identities, suite lists, PEM). */
const MAX_STRING = 64 * 1024;
/** Most items of a list taken from untrusted code. */
const MAX_LIST = 1024;

export function refuse(what: string, expected: string, value: unknown): never {
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

export const nonEmptyString: Check<string> = (value, what) => {
  const s = string(value, what);
  return s === '' ? refuse(what, 'a non-empty string', value) : s;
};

export const boolean: Check<boolean> = (value, what) => (typeof value === 'boolean' ? value : refuse(what, 'true or false', value));

export const count: Check<number> = (value, what) =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : refuse(what, 'a whole number of at least 0', value);

export const bytes: Check<Uint8Array> = (value, what) => (value instanceof Uint8Array ? value : refuse(what, 'a Uint8Array', value));

export function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST) return refuse(what, `an array of at most ${MAX_LIST} strings`, value);
  return value.map((item, i) => string(item, `${what}[${i}]`));
}

export const stringOrList: Check<string | string[]> = (value, what) => (Array.isArray(value) ? stringList(value, what) : string(value, what));

/** One of the given strings. */
export function oneOf<T extends string>(...allowed: T[]): Check<T> {
  const quoted = allowed.map((a) => `'${a}'`);
  const expected = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted.join('');
  return (value, what) => (allowed.includes(value as T) ? (value as T) : refuse(what, expected, value));
}

/**
 * An option schema names every option of an options type once, with how the option crosses
 * to the TLS worker: the check of its plain-data value, or LOCAL for what never crosses
 * (callbacks and objects stay on their side). Declared with `satisfies` against the options
 * type, so an option added to the type and not to its schema is a compile error.
 */
export const LOCAL = 'local';
export type OptionSchema = Record<string, Check<unknown> | typeof LOCAL>;

/** The checks of a schema's plain-data options. */
export function plainChecks<S extends OptionSchema>(schema: S): { [K in keyof S as S[K] extends typeof LOCAL ? never : K]: S[K] } {
  return Object.fromEntries(Object.entries(schema).filter(([, check]) => check !== LOCAL)) as never;
}
