/**
 * platform.ts for the browser bundle (scripts/bundle.mjs): no Node, and the package's worker
 * started with the literal pattern Vite and webpack 5 recognise, so that they bundle
 * tls-worker.js (and, from it, the .wasm) into the application's build.
 */
import { browserWorker } from './browser-worker.js';
import type { PlatformWorker } from './client.js';

export async function startWorker(workerUrl: string | URL | undefined): Promise<PlatformWorker> {
  if (workerUrl !== undefined) {
    const url = new URL(workerUrl, globalThis.location?.href);
    return browserWorker(() => new Worker(url, { type: 'module' }), url.href);
  }
  return browserWorker(() => new Worker(new URL('./tls-worker.js', import.meta.url), { type: 'module' }), "the package's tls-worker.js");
}

/** The worker of a same-origin store, with the literal pattern bundlers recognise. */
export function startStoreWorker(workerUrl: string | URL | undefined): Worker {
  if (workerUrl !== undefined) return new Worker(new URL(workerUrl, globalThis.location?.href), { type: 'module' });
  return new Worker(new URL('./vault-worker.js', import.meta.url), { type: 'module' });
}
