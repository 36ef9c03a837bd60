/**
 * The JavaScript side of every import of the shim (wasm/shim/library.js forwards to these):
 * randomness, the PSK callbacks, and the observers. None of them throws into wasm.
 */
import { observerHooks } from './observers.js';
import type { BytePtr } from './pointers.js';
import { pskHooks } from './psk.js';
import type { Runtime } from './runtime.js';

export function installHooks(rt: Runtime, random: (view: Uint8Array) => void): void {
  rt.module.opwHooks = {
    random(buf: BytePtr, len: number): number {
      try {
        random(rt.heap.u8.subarray(buf, buf + len));
        return 1;
      } catch {
        return 0;
      }
    },
    ...pskHooks(rt),
    ...observerHooks(rt),
  };
}
