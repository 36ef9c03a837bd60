/**
 * The JavaScript side of every import of the shim (wasm/shim/library.js forwards to these):
 * randomness, the PSK callbacks, and the observers. None of them throws into wasm: a value
 * thrown through wasm frames skips OpenSSL's clean-up (heap and stack are lost with every
 * throw, and the instance soon traps for good). Each hook catches what it can explain itself;
 * this last guard turns anything else into the hook's failure return.
 */
import { observerHooks } from './observers.js';
import type { BytePtr } from '../core/pointers.js';
import { FAIL_HANDSHAKE, pskHooks } from './psk.js';
import type { Runtime } from '../core/runtime.js';

type Hooks = Record<string, (...args: number[]) => number | void>;

/** What each hook returns if it throws anyway: the C side's failure value. */
const FAILURE: Record<string, number | undefined> = {
  random: 0,
  pskUseSession: 0,
  pskClient: FAIL_HANDSHAKE,
  pskFindSession: 0,
  pskServer: FAIL_HANDSHAKE,
  clientHello: 80, // internal_error
  keylog: undefined,
  message: undefined,
  // 1 tells OpenSSL the facade took the session: at worst one session leaks, never a double free.
  newSession: 1,
};

export function installHooks(rt: Runtime, random: (view: Uint8Array) => void): void {
  const hooks: Hooks = {
    random(buf: BytePtr, len: number): number {
      random(rt.heap.u8.subarray(buf, buf + len));
      return 1;
    },
    ...pskHooks(rt),
    ...observerHooks(rt),
  } as unknown as Hooks;
  rt.module.opwHooks = Object.fromEntries(
    Object.entries(hooks).map(([name, hook]) => [
      name,
      (...args: number[]) => {
        try {
          return hook(...args);
        } catch {
          return FAILURE[name];
        }
      },
    ]),
  );
}
