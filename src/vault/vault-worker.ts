/**
 * The vault's TLS worker (bundled as dist/browser/vault-worker.js): started by the vault frame
 * (./vault-page.ts), or by a page for a same-origin `store`. Its first message, from whoever
 * started it, says which page origin it serves and brings the page's MessagePort; it then
 * answers the TLS worker's methods on that port only, so the page can never post to this
 * worker's own scope (which alone takes VaultSetup and the vault form's keys).
 */
import { TlsError, textOf } from '../core/errors.js';
import { serveTlsWorker, type WorkerEndpoint } from '../worker/serve.js';
import { openIdbBackend } from './idb-backend.js';
import { KeyStore, sharePolicy } from './key-store.js';
import type { PairRequest, StorageInfo, VaultSetup } from './messages.js';
import { MemoryBackend, type StoreBackend } from './store-backend.js';
import { VaultService } from './vault-service.js';

/** Extra methods, for test builds only (see test/workers/). */
export type ExtraMethods = (service: VaultService) => Parameters<typeof serveTlsWorker>[2];

interface Scope {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** Serves the vault worker in `scope` (the worker's global). */
export function runVaultWorker(scope: Scope, extra?: ExtraMethods): void {
  const first = (event: MessageEvent): void => {
    const data = event.data as { vault?: VaultSetup } | null;
    const port = event.ports[0];
    if (!data || typeof data !== 'object' || !data.vault || !port) return;
    scope.removeEventListener('message', first);
    void begin(scope, data.vault, port, extra);
  };
  scope.addEventListener('message', first);
}

async function openBackend(database: string): Promise<{ backend: StoreBackend; error?: string }> {
  try {
    return { backend: await openIdbBackend(database) };
  } catch (error) {
    return { backend: new MemoryBackend(), error: textOf(error) };
  }
}

async function persisted(): Promise<boolean | null> {
  const storage = (globalThis.navigator as { storage?: StorageManager } | undefined)?.storage;
  if (!storage?.persisted) return null;
  return storage.persisted().catch(() => null);
}

async function begin(scope: Scope, setup: VaultSetup, port: MessagePort, extra?: ExtraMethods): Promise<void> {
  let opened = await openBackend(setup.database);
  let store: KeyStore;
  try {
    store = await KeyStore.open(opened.backend, setup.origin, sharePolicy(setup.share));
  } catch (error) {
    // IndexedDB opened but cannot keep a CryptoKey (or a transaction failed): memory then.
    opened.backend.close();
    opened = { backend: new MemoryBackend(), error: textOf(error) };
    store = await KeyStore.open(opened.backend, setup.origin, sharePolicy(setup.share));
  }
  const service = new VaultService(store, setup.wasmUrl);
  const endpoint: WorkerEndpoint = {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    addEventListener: (type, listener) => port.addEventListener(type, listener),
  };
  serveTlsWorker(endpoint, service, extra?.(service));
  const storage: StorageInfo = { persistent: store.persistent, persisted: await persisted() };
  if (opened.error !== undefined) storage.error = opened.error;
  port.postMessage({ vault: 'connected', storage });
  port.start();
  scope.addEventListener('message', (event) => {
    const pair = (event.data as { pair?: PairRequest } | null)?.pair;
    if (pair) void paired(scope, service, pair);
  });
}

/** Imports a key the vault's own form took; tells the frame how it went (never the key). */
async function paired(scope: Scope, service: VaultService, pair: PairRequest): Promise<void> {
  try {
    if (typeof pair.identity !== 'string' || pair.identity === '') throw new TlsError('ERR_INVALID_ARGUMENT', 'an identity is needed');
    const options = pair.cipher ? { cipher: pair.cipher } : {};
    if (typeof pair.hex === 'string') {
      const hex = pair.hex.replace(/\s+/g, '');
      if (!/^([0-9a-f]{2}){16,64}$/i.test(hex)) throw new TlsError('ERR_INVALID_ARGUMENT', 'the key must be 16 to 64 bytes of hex');
      const bytes = new Uint8Array(hex.length / 2);
      for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      await service.importPsk(pair.identity, bytes.buffer, options);
    } else if (typeof pair.passphrase === 'string' && typeof pair.salt === 'string') {
      await service.importPskFromPassphrase(pair.identity, pair.passphrase, new TextEncoder().encode(pair.salt), options);
    } else {
      throw new TlsError('ERR_INVALID_ARGUMENT', 'a hex key, or a passphrase and a salt');
    }
    scope.postMessage({ paired: pair.identity });
  } catch (error) {
    scope.postMessage({ pairFailed: pair.identity, message: textOf(error) });
  }
}
