/**
 * Explicit ownership of OpenSSL objects. Each wrapper owns one C object (or one reference to
 * it) and releases it in free() or [Symbol.dispose] (`using`). free() is idempotent; any
 * other use after it throws ERR_USE_AFTER_FREE.
 *
 * A FinalizationRegistry only warns when a wrapper is garbage-collected without free(): it
 * never frees C memory, because it cannot know whether OpenSSL still needs the object and
 * cannot run at a time the module is in a known state.
 */
import { TlsError } from './errors.js';

let warnLeak: ((what: string) => void) | null = (what) => {
  console.warn(`openssl-psk-wasm: a ${what} was garbage-collected without free(): its wasm memory is leaked`);
};

/** Replaces (or, with null, silences) the leak warning. */
export function onLeak(handler: ((what: string) => void) | null): void {
  warnLeak = handler;
}

const leaks = new FinalizationRegistry<string>((what) => warnLeak?.(what));

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface below
export abstract class Lifetime {
  #freed = false;
  readonly #what: string;

  protected constructor(what: string) {
    this.#what = what;
    leaks.register(this, what, this);
  }

  /** True once free() has run. */
  get freed(): boolean {
    return this.#freed;
  }

  /** Releases the OpenSSL object. Safe to call more than once. */
  free(): void {
    if (this.#freed) return;
    this.beforeFree();
    this.#freed = true;
    leaks.unregister(this);
    this.release();
  }

  /** For a constructor that failed before it owned anything: no release, no leak warning. */
  protected disown(): void {
    this.#freed = true;
    leaks.unregister(this);
  }

  /** Throws ERR_USE_AFTER_FREE once freed. */
  protected assertLive(): void {
    if (this.#freed) throw new TlsError('ERR_USE_AFTER_FREE', this.freedMessage(this.#what));
  }

  /** What ERR_USE_AFTER_FREE says. */
  protected freedMessage(what: string): string {
    return `this ${what} was freed; create a new one`;
  }

  /** May throw to refuse the free (e.g. from inside the object's own callback). */
  protected beforeFree(): void {}

  /** Frees the C object. Runs exactly once. */
  protected abstract release(): void;
}

// [Symbol.dispose] is put on the prototype below where the engine has the symbol; this
// interface declares it for the type.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Lifetime {
  /** free(), for `using` (where the engine has Symbol.dispose). */
  [Symbol.dispose](): void;
}

// Symbol.dispose is missing in some engines (WebKit): the method exists only where the symbol does.
if (typeof Symbol.dispose === 'symbol') {
  Object.defineProperty(Lifetime.prototype, Symbol.dispose, {
    value(this: Lifetime): void {
      this.free();
    },
    writable: true,
    configurable: true,
  });
}
