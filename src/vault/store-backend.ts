/**
 * Where sealed PSKs and the wrapping key rest: the vault origin's IndexedDB (./idb-backend.ts),
 * or memory, when IndexedDB is missing or failed (the keys then last as long as the worker).
 */
import type { SealedPsk } from './seal.js';

export interface StoreBackend {
  /** True if what is put here outlives the worker (IndexedDB); false in memory. */
  readonly persistent: boolean;
  /**
   * The wrapping key: the stored one, or else `candidate`, stored now. One transaction, so two
   * tabs starting at once end up with the same key.
   */
  wrappingKey(candidate: CryptoKey): Promise<CryptoKey>;
  get(owner: string, identity: string): Promise<SealedPsk | undefined>;
  put(record: SealedPsk): Promise<void>;
  /** Resolves true if there was such a record. */
  delete(owner: string, identity: string): Promise<boolean>;
  all(): Promise<SealedPsk[]>;
  close(): void;
}

/** Records in a Map: the fallback when IndexedDB is unavailable, and the Node tests' backend. */
export class MemoryBackend implements StoreBackend {
  readonly persistent = false;
  #key: CryptoKey | null = null;
  readonly #records = new Map<string, SealedPsk>();

  async wrappingKey(candidate: CryptoKey): Promise<CryptoKey> {
    this.#key ??= candidate;
    return this.#key;
  }

  async get(owner: string, identity: string): Promise<SealedPsk | undefined> {
    return this.#records.get(JSON.stringify([owner, identity]));
  }

  async put(record: SealedPsk): Promise<void> {
    this.#records.set(JSON.stringify([record.owner, record.identity]), record);
  }

  async delete(owner: string, identity: string): Promise<boolean> {
    return this.#records.delete(JSON.stringify([owner, identity]));
  }

  async all(): Promise<SealedPsk[]> {
    return [...this.#records.values()];
  }

  close(): void {}
}
