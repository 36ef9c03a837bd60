/**
 * Starting the worker, in Node (a worker thread running ../node/node-tls-worker.js) or in a
 * browser (a module Worker). The browser bundle uses platform.browser.ts instead
 * (scripts/bundle.mjs): there nothing may name a Node module, and the worker is started with
 * the literal `new Worker(new URL('./tls-worker.js', import.meta.url), { type: 'module' })`
 * that Vite and webpack recognise, bundle and emit.
 */
import { TlsError, textOf } from '../core/errors.js';
import { browserWorker } from './browser-worker.js';
import type { PlatformWorker } from './client.js';
import { defaultWorkerUrl } from './worker-url.js';

const isNode =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string' &&
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined' &&
  typeof (globalThis as { window?: unknown }).window === 'undefined';

/** The worker for this platform, from `workerUrl` or the package's own script. */
export async function startWorker(workerUrl: string | URL | undefined): Promise<PlatformWorker> {
  if (isNode) return nodeWorker(workerUrl);
  const url = new URL(workerUrl ?? defaultWorkerUrl(), globalThis.location?.href);
  return browserWorker(() => new Worker(url, { type: 'module' }), url.href);
}

/** The worker of a same-origin store (createTlsWorker({ store })): browsers only. */
export function startStoreWorker(workerUrl: string | URL | undefined): Worker {
  if (isNode) throw new TlsError('ERR_INVALID_ARGUMENT', "the store option keeps keys in a browser's IndexedDB: Node has none");
  return new Worker(new URL(workerUrl ?? new URL('../vault/vault-worker-main.js', import.meta.url), globalThis.location?.href), { type: 'module' });
}

async function nodeWorker(workerUrl: string | URL | undefined): Promise<PlatformWorker> {
  const { Worker } = (await import('node:worker_threads' as string)) as {
    Worker: new (url: URL) => {
      postMessage(message: unknown, transfer: unknown[]): void;
      on(event: string, listener: (value: unknown) => void): void;
      terminate(): Promise<number>;
    };
  };
  const worker = new Worker(new URL(workerUrl ?? new URL('../node/node-tls-worker.js', import.meta.url)));
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (listener) => worker.on('message', listener),
    watch(onGone) {
      worker.on('error', (error) => onGone(`the worker crashed: ${textOf(error)}`));
      worker.on('exit', (code) => onGone(`the worker exited (code ${String(code)})`));
    },
    terminate: () => worker.terminate(),
  };
}
