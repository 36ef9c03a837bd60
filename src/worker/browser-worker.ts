/** A browser's module Worker as the page's end of the worker protocol sees it (./client.ts). */
import { TlsError, textOf } from '../core/errors.js';
import type { PlatformWorker } from './client.js';

/** Wraps the Worker `create()` makes (`where` names its script in errors). */
export function browserWorker(create: () => Worker, where: string): PlatformWorker {
  let worker: Worker;
  try {
    worker = create();
  } catch (error) {
    // e.g. a cross-origin script (a worker must be same-origin) or a CSP without worker-src for it
    throw new TlsError('ERR_INVALID_ARGUMENT', `cannot start the TLS worker from ${where}: ${textOf(error)}`, { cause: error });
  }
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (listener) => worker.addEventListener('message', (event) => listener(event.data)),
    watch(onGone) {
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        onGone(`the worker crashed: ${event.message || 'an error it did not handle (or its script failed to load)'}`);
      });
      worker.addEventListener('messageerror', () => onGone('a message from the worker could not be read'));
    },
    terminate: () => worker.terminate(),
  };
}
