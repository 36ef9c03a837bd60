/**
 * The PSKs of a vault (or of a same-origin `store`), as one page origin sees them: it saves
 * keys under its own origin, and uses its own and those the vault's configuration shares with
 * it. Keys rest sealed (./seal.ts); one is opened only when a worker needs it in wasm memory.
 */
import { TlsError } from '../core/errors.js';
import { newWrappingKey, seal, unseal } from './seal.js';
import type { StoreBackend } from './store-backend.js';

/** Who may use whose keys: `share[owner]` lists the page origins that may use `owner`'s keys. */
export type SharePolicy = Readonly<Record<string, readonly string[]>>;

export class KeyStore {
  readonly #backend: StoreBackend;
  readonly #wrappingKey: CryptoKey;
  /** The page origin this store serves. */
  readonly origin: string;
  readonly #share: SharePolicy;

  private constructor(backend: StoreBackend, wrappingKey: CryptoKey, origin: string, share: SharePolicy) {
    this.#backend = backend;
    this.#wrappingKey = wrappingKey;
    this.origin = origin;
    this.#share = share;
  }

  /** The store on `backend` for the page `origin`; creates the wrapping key on first use. */
  static async open(backend: StoreBackend, origin: string, share: SharePolicy = {}): Promise<KeyStore> {
    const wrappingKey = await backend.wrappingKey(await newWrappingKey());
    return new KeyStore(backend, wrappingKey, origin, share);
  }

  /** True if saved keys outlive the worker. */
  get persistent(): boolean {
    return this.#backend.persistent;
  }

  /** Whether the page origin may use keys imported by `owner`. */
  mayUse(owner: string): boolean {
    return owner === this.origin || (Object.hasOwn(this.#share, owner) && (this.#share[owner] ?? []).includes(this.origin));
  }

  /** Seals and saves `key` under this origin (replacing its key of that identity). `key` is left as it is. */
  async save(identity: string, key: Uint8Array, cipher: string): Promise<void> {
    await this.#backend.put(await seal(this.#wrappingKey, this.origin, identity, cipher, key));
  }

  /**
   * The key `identity` this origin may use, opened (its own first, then one shared with it):
   * the caller moves the bytes into wasm memory and wipes them. Null if there is none.
   */
  async open(identity: string): Promise<{ key: Uint8Array; cipher: string } | null> {
    let record = await this.#backend.get(this.origin, identity);
    if (!record) record = (await this.#backend.all()).find((r) => r.identity === identity && this.mayUse(r.owner));
    if (!record) return null;
    return { key: await unseal(this.#wrappingKey, record), cipher: record.cipher };
  }

  /** The identities this origin may use (its own and those shared with it), each once. */
  async list(): Promise<string[]> {
    const records = (await this.#backend.all()).filter((r) => this.mayUse(r.owner));
    return [...new Set(records.map((r) => r.identity))].sort();
  }

  /** Deletes this origin's key `identity` (a key shared by another origin is not this origin's to delete). */
  async delete(identity: string): Promise<boolean> {
    return this.#backend.delete(this.origin, identity);
  }

  /** Deletes every key this origin imported; resolves with how many. */
  async clear(): Promise<number> {
    const own = (await this.#backend.all()).filter((r) => r.owner === this.origin);
    for (const record of own) await this.#backend.delete(record.owner, record.identity);
    return own.length;
  }

  close(): void {
    this.#backend.close();
  }
}

/** A sharing policy from a vault's configuration: owner origins to lists of page origins. */
export function sharePolicy(value: unknown): SharePolicy {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TlsError('ERR_VAULT', 'the vault configuration\'s "share" must map owner origins to lists of page origins');
  }
  const out: Record<string, string[]> = {};
  for (const [owner, users] of Object.entries(value)) {
    if (!Array.isArray(users) || !users.every((u) => typeof u === 'string')) {
      throw new TlsError('ERR_VAULT', `the vault configuration's "share" entry for ${JSON.stringify(owner)} must be a list of origins`);
    }
    out[owner] = [...(users as string[])];
  }
  return out;
}
