/**
 * The store in IndexedDB, of the origin the code runs in (the vault's, in a vault; the page's,
 * with the `store` option). Two object stores: `keys` (SealedPsk records, keyed by owner and
 * identity) and `meta` (the wrapping key, a non-extractable CryptoKey stored as itself: the
 * browser keeps its bytes in the profile, and no script can export them).
 */
import { TlsError, textOf } from '../core/errors.js';
import { isSealedPsk, type SealedPsk } from './seal.js';
import type { StoreBackend } from './store-backend.js';

const VERSION = 1;

function failed(what: string, error: unknown): TlsError {
  return new TlsError('ERR_STORAGE', `IndexedDB failed to ${what}: ${textOf(error)}`, { cause: error });
}

function request<T>(req: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(failed(what, req.error));
  });
}

/** Opens (creating if needed) the database `name`; rejects with ERR_STORAGE if IndexedDB cannot. */
export async function openIdbBackend(name: string): Promise<StoreBackend> {
  let db: IDBDatabase;
  try {
    const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory) throw new Error('this context has no indexedDB');
    const req = factory.open(name, VERSION);
    req.onupgradeneeded = () => {
      const created = req.result;
      if (!created.objectStoreNames.contains('keys')) created.createObjectStore('keys', { keyPath: ['owner', 'identity'] });
      if (!created.objectStoreNames.contains('meta')) created.createObjectStore('meta');
    };
    db = await new Promise<IDBDatabase>((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('blocked by another connection of an older version'));
    });
  } catch (error) {
    throw failed('open the key store', error);
  }
  return new IdbBackend(db);
}

class IdbBackend implements StoreBackend {
  readonly persistent = true;
  readonly #db: IDBDatabase;

  constructor(db: IDBDatabase) {
    this.#db = db;
    // Another tab upgrading the database: let it, this worker falls back to failing calls.
    db.onversionchange = () => db.close();
  }

  #store(name: 'keys' | 'meta', mode: IDBTransactionMode): IDBObjectStore {
    try {
      return this.#db.transaction(name, mode).objectStore(name);
    } catch (error) {
      throw failed(`open a ${mode} transaction`, error);
    }
  }

  wrappingKey(candidate: CryptoKey): Promise<CryptoKey> {
    return new Promise((resolve, reject) => {
      try {
        const meta = this.#store('meta', 'readwrite');
        const got = meta.get('wrapping-key');
        got.onerror = () => reject(failed('read the wrapping key', got.error));
        got.onsuccess = () => {
          if (got.result instanceof CryptoKey) return resolve(got.result);
          // Still inside the transaction: no other tab can put its own in between.
          const put = meta.put(candidate, 'wrapping-key');
          put.onerror = () => reject(failed('store the wrapping key', put.error));
          put.transaction!.oncomplete = () => resolve(candidate);
          put.transaction!.onabort = () => reject(failed('store the wrapping key', put.transaction!.error));
        };
      } catch (error) {
        reject(error instanceof TlsError ? error : failed('read the wrapping key', error));
      }
    });
  }

  async get(owner: string, identity: string): Promise<SealedPsk | undefined> {
    const value: unknown = await request(this.#store('keys', 'readonly').get([owner, identity]), 'read a key');
    return isSealedPsk(value) ? value : undefined;
  }

  put(record: SealedPsk): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        const req = this.#store('keys', 'readwrite').put(record);
        req.onerror = () => reject(failed('save the key', req.error));
        req.transaction!.oncomplete = () => resolve();
        req.transaction!.onabort = () => reject(failed('save the key', req.transaction!.error));
      } catch (error) {
        reject(error instanceof TlsError ? error : failed('save the key', error));
      }
    });
  }

  async delete(owner: string, identity: string): Promise<boolean> {
    const store = this.#store('keys', 'readwrite');
    const count = await request(store.count([owner, identity]), 'count a key');
    await request(store.delete([owner, identity]), 'delete a key');
    return count > 0;
  }

  async all(): Promise<SealedPsk[]> {
    const values: unknown[] = await request(this.#store('keys', 'readonly').getAll(), 'list the keys');
    return values.filter(isSealedPsk);
  }

  close(): void {
    this.#db.close();
  }
}
