/**
 * The TLS worker's service with a key store: what importPsk() takes is sealed and saved (in the
 * vault origin's IndexedDB, see ./key-store.ts) as well as moved into wasm memory, and a saved
 * key is opened into wasm memory only when a socket first needs it in this worker. From then
 * until deletePsk()/clearStore() or the worker's end, OpenSSL holds it there, as it holds an
 * imported one; the bytes WebCrypto's decrypt gave are wiped once the key is in wasm memory.
 */
import { TlsError, textOf } from '../core/errors.js';
import type { TlsSocketInfo } from '../socket/socket-shape.js';
import { DEFAULT_SUITE, derivePsk } from '../worker/passphrase.js';
import type { PassphraseOptions, SocketChannel, StartOptions, WorkerSocketOptions } from '../worker/protocol.js';
import { TlsWorkerService } from '../worker/service.js';
import type { KeyStore } from './key-store.js';

export class VaultService extends TlsWorkerService {
  readonly #store: KeyStore;
  /** Where the module comes from: the vault's configuration, never the page. */
  readonly #wasmUrl: string | undefined;
  /** Keys being opened, so that two sockets asking at once open one copy. */
  readonly #opening = new Map<string, Promise<void>>();

  constructor(store: KeyStore, wasmUrl?: string) {
    super();
    this.#store = store;
    this.#wasmUrl = wasmUrl;
  }

  /** A page may not choose the module: one of its own making would see the vault's keys. */
  override async start(options: StartOptions): Promise<void> {
    if (options.wasmUrl !== undefined) {
      throw new TlsError('ERR_VAULT', "a vault loads the module its own configuration names (wasmUrl); the page's wasmUrl is refused");
    }
    await super.start(this.#wasmUrl === undefined ? {} : { wasmUrl: this.#wasmUrl });
  }

  override async importPsk(identity: string, key: ArrayBuffer, options: { cipher?: string } = {}): Promise<void> {
    await this.#importAndSave(identity, new Uint8Array(key), options.cipher ?? DEFAULT_SUITE);
  }

  override async importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions = {}): Promise<void> {
    const { bytes, cipher } = await derivePsk(passphrase, salt, options);
    await this.#importAndSave(identity, bytes, cipher);
  }

  /**
   * Seals and saves the key, then moves it into wasm memory (which wipes `bytes`). If saving
   * fails the key is still imported, for this worker only, and the call fails with ERR_STORAGE.
   */
  async #importAndSave(identity: string, bytes: Uint8Array, cipher: string): Promise<void> {
    let unsaved: unknown = null;
    try {
      (await this.instance()).findCipher(cipher); // a bad suite is refused before anything is saved
      await this.#store.save(identity, bytes, cipher).catch((error: unknown) => (unsaved = error));
      await super.importPsk(identity, bytes.buffer as ArrayBuffer, { cipher });
    } finally {
      bytes.fill(0);
    }
    if (unsaved !== null) {
      throw new TlsError('ERR_STORAGE', `the key ${JSON.stringify(identity)} is imported for this worker only: saving it failed (${textOf(unsaved)})`, {
        cause: unsaved,
      });
    }
  }

  override async listPsks(): Promise<string[]> {
    const listed = new Set(await this.#store.list());
    for (const identity of await super.listPsks()) listed.add(identity); // imported while saving failed
    return [...listed].sort();
  }

  override async deletePsk(identity: string): Promise<boolean> {
    const inMemory = await super.deletePsk(identity);
    return (await this.#store.delete(identity)) || inMemory;
  }

  override async clearStore(): Promise<number> {
    const inMemory = await super.listPsks();
    for (const identity of inMemory) await super.deletePsk(identity);
    const saved = await this.#store.clear();
    return Math.max(saved, inMemory.length);
  }

  override async open(id: number, role: 'client' | 'server', url: string, options: WorkerSocketOptions, channel: SocketChannel): Promise<TlsSocketInfo> {
    const listed = async (): Promise<string[]> => this.#store.list().catch(() => []);
    let wanted: string[];
    if (role === 'server') wanted = options.identities ?? (await listed());
    else if (options.identity !== undefined) wanted = [options.identity];
    else wanted = await listed().then((all) => (all.length === 1 ? all : [])); // several: connect() asks which
    // A key that cannot be opened is left out: open() then says no such key was imported.
    await Promise.all(wanted.map((identity) => this.#load(identity).catch(() => {})));
    return super.open(id, role, url, options, channel);
  }

  /** Opens the saved key `identity` into wasm memory, unless it is there already. */
  #load(identity: string): Promise<void> {
    if (this.holds(identity)) return Promise.resolve();
    let opening = this.#opening.get(identity);
    if (!opening) {
      opening = (async () => {
        const opened = await this.#store.open(identity);
        if (!opened || this.holds(identity)) {
          opened?.key.fill(0);
          return;
        }
        await super.importPsk(identity, opened.key.buffer as ArrayBuffer, { cipher: opened.cipher }).finally(() => opened.key.fill(0));
      })().finally(() => this.#opening.delete(identity));
      this.#opening.set(identity, opening);
    }
    return opening;
  }
}
