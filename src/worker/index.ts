/**
 * createTlsWorker(): the TLS engine and the PSKs in a Web Worker (or a Node worker thread),
 * the page holding only plaintext streams. Keys go in with importPsk(), whose ArrayBuffer is
 * transferred (the page's copy is detached) and wiped in the worker once OpenSSL holds it;
 * nothing the worker sends back contains them.
 *
 * The worker answers a fixed list of methods (./protocol.ts), each argument checked, so a
 * compromised page can use a key through connect() but never read one. A socket from
 * connect()/accept() has the shape of connectTls()'s; its plaintext crosses on a MessagePort
 * of its own (or, on request, on transferred streams), with backpressure either way. If the
 * worker crashes or is terminated, every socket and pending call fails with ERR_WORKER_GONE;
 * start a new worker.
 *
 * @module openssl-psk-wasm/worker
 */
import { TlsError, textOf } from '../core/errors.js';
import { readChunks, type TlsSocketInfo, type TlsSocketLike } from '../socket/socket-shape.js';
import { openChannel, type PageChannel, type StreamMode } from './channel.js';
import { WorkerClient, type PlatformWorker } from './client.js';
import type { PassphraseOptions, StartOptions, WorkerSocketOptions } from './protocol.js';
import { startStoreWorker, startWorker } from './platform.js';
import { openStore, openVault, type PortWorker } from './vault-transport.js';
import type { StorageInfo } from '../vault/messages.js';

export type { PassphraseOptions, WorkerSocketOptions } from './protocol.js';
export type { TlsSocketInfo, TlsSocketLike } from '../socket/socket-shape.js';
export { canTransferStreams, type StreamMode } from './channel.js';
export type { StorageInfo } from '../vault/messages.js';

/** createTlsWorker()'s options: where the worker and its .wasm are, how plaintext crosses, and a tap. */
export interface TlsWorkerOptions {
  /**
   * Where the worker script is (default: the package's, tls-worker.js beside the bundle, which
   * Vite and webpack emit with the application). It must be same-origin with the page.
   */
  workerUrl?: string | URL;
  /**
   * Where the worker fetches openssl-psk.wasm (default: beside its script). Given to the
   * worker once, at its start, before any key; e.g. a CDN's URL (served with CORS).
   */
  wasmUrl?: string | URL;
  /**
   * How each socket's plaintext crosses: 'port' (the default: a MessagePort per socket with
   * credit-based backpressure, in every engine) or 'transfer' (streams transferred to the
   * worker: Chromium, Firefox and Node only, see canTransferStreams(); slower, measured).
   */
  streams?: StreamMode;
  /** Called with every message the page receives from the worker, for audits (and tests). */
  tap?: (data: unknown) => void;
  /**
   * A key vault: the URL of the package's vault.html hosted on an origin of its own (e.g.
   * 'https://keys.example/vault.html', its configuration listing this page's origin). The TLS
   * worker then runs in that origin, in an iframe, and keeps the keys in that origin's
   * IndexedDB, sealed: this page, even compromised, can use them through this API but never
   * read them. `workerUrl` and `wasmUrl` are the vault's to choose, not the page's.
   */
  vault?: string | URL;
  /** With `vault`: where its iframe goes (default: hidden, at the end of the body). Given, it shows the vault's pairing form. */
  vaultParent?: HTMLElement;
  /** With `vault`: called with the identity of a key paired in the vault's own form. */
  onPaired?: (identity: string) => void;
  /**
   * Keeps imported keys in this page's own IndexedDB (database `openssl-psk-store:<store>`),
   * sealed under a non-extractable key, so they survive a reload. For convenience only: the page
   * can open that database and use the key, so this protects nothing from a compromised page
   * (use `vault` for that). `workerUrl` then names the store's worker script (vault-worker.js).
   */
  store?: string;
}

/**
 * Starts a TLS worker and waits until it answers, with OpenSSL loaded; rejects at once if the
 * worker cannot load it (ERR_WASM_LOAD).
 *
 * @example
 * ```ts
 * import { createTlsWorker } from 'openssl-psk-wasm/worker';
 *
 * const worker = await createTlsWorker(); // a module worker: OpenSSL and the keys live there
 * await worker.importPsk('dev-1', keyBuffer); // an ArrayBuffer, transferred: detached (empty) afterwards
 * const socket = worker.connect('ws://127.0.0.1:8080/10.0.0.7:4433', { identity: 'dev-1' });
 * await socket.opened; // the same socket shape as connectTls()'s
 * const writer = socket.writable.getWriter();
 * await writer.write(new TextEncoder().encode('hello\n'));
 * for await (const chunk of socket) console.log(new TextDecoder().decode(chunk));
 * ```
 *
 * @example From a CDN, the worker script from your own origin and the .wasm from the CDN with CORS
 * ```ts
 * import { createTlsWorker } from 'openssl-psk-wasm/worker';
 *
 * const worker = await createTlsWorker({
 *   workerUrl: '/static/tls-worker.js',
 *   wasmUrl: 'https://cdn.example/openssl-psk-wasm@0.1.0/dist/browser/openssl-psk.wasm',
 * });
 * ```
 */
export async function createTlsWorker(options: TlsWorkerOptions = {}): Promise<TlsWorker> {
  const streams = options.streams ?? 'port';
  if (streams !== 'transfer' && streams !== 'port') {
    throw new TlsError('ERR_INVALID_ARGUMENT', "streams must be 'port' (the default) or 'transfer'");
  }
  if (options.vault !== undefined && options.store !== undefined) {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'vault and store exclude each other: a vault keeps the keys in its own origin');
  }
  if (options.vault !== undefined && (options.workerUrl !== undefined || options.wasmUrl !== undefined)) {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      "with vault, the worker and its .wasm are the vault's (its configuration), not the page's: drop workerUrl and wasmUrl",
    );
  }
  let ported: PortWorker | null = null;
  if (options.vault !== undefined) ported = await openVault(options.vault, { vaultParent: options.vaultParent, onPaired: options.onPaired });
  else if (options.store !== undefined) {
    if (typeof options.store !== 'string' || options.store === '') throw new TlsError('ERR_INVALID_ARGUMENT', 'store must be a non-empty name');
    ported = await openStore(startStoreWorker(options.workerUrl), `openssl-psk-store:${options.store}`);
  }
  const platform = ported?.platform ?? (await startWorker(options.workerUrl));
  if (options.tap) {
    const tap = options.tap;
    platform.onMessage((data) => tap(data));
  }
  const worker = new TlsWorker(platform, streams, options.tap, ported?.storage ?? null);
  try {
    // Its first call loads OpenSSL: a worker that cannot (its .wasm missing, blocked, not
    // wasm) fails here, not at the first importPsk() or connect().
    await worker.start(options.wasmUrl === undefined ? {} : { wasmUrl: String(new URL(options.wasmUrl, globalThis.location?.href)) });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  return worker;
}

/**
 * A TLS worker (createTlsWorker()): holds the PSKs and runs the TLS engine; the page gets
 * plaintext sockets. Its methods are the only way in, and none gives a key back.
 */
export class TlsWorker {
  readonly #client: WorkerClient;
  readonly #streams: StreamMode;
  readonly #tap: ((data: unknown) => void) | undefined;
  readonly #sockets = new Set<WorkerTlsSocket>();
  #nextSocket = 1;
  /**
   * How keys are kept, with `vault` or `store`: `persistent` false means IndexedDB failed or is
   * missing (e.g. an engine that gives a cross-origin frame no storage), and keys then last only
   * as long as this worker (`error` says why). Null for a worker without a store.
   */
  readonly storage: StorageInfo | null;

  /** @internal Use createTlsWorker(). */
  constructor(platform: PlatformWorker, streams: StreamMode, tap?: (data: unknown) => void, storage: StorageInfo | null = null) {
    this.storage = storage;
    this.#streams = streams;
    this.#tap = tap;
    this.#client = new WorkerClient(platform, (gone) => {
      for (const socket of this.#sockets) socket.fail(gone);
      this.#sockets.clear();
    });
  }

  /** True once the worker has crashed or been terminated. */
  get gone(): boolean {
    return this.#client.gone !== null;
  }

  /** @internal createTlsWorker() makes this call, the worker's first. */
  start(options: StartOptions): Promise<void> {
    return this.#client.call('start', [options]);
  }

  /**
   * Imports a PSK. `key` is transferred: after the call the page's ArrayBuffer is detached
   * (empty). `cipher` is the TLS 1.3 suite of its digest (default TLS_AES_128_GCM_SHA256).
   */
  importPsk(identity: string, key: ArrayBuffer, options: { cipher?: string } = {}): Promise<void> {
    if (!(key instanceof ArrayBuffer)) {
      return Promise.reject(new TlsError('ERR_INVALID_ARGUMENT', 'importPsk() takes the key as an ArrayBuffer, which it transfers'));
    }
    return this.#client.call('importPsk', [identity, key, options], [key]);
  }

  /** Derives a PSK in the worker with PBKDF2 (WebCrypto), so the key never exists in the page. */
  importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions = {}): Promise<void> {
    return this.#client.call('importPskFromPassphrase', [identity, passphrase, salt, options]);
  }

  /**
   * Forgets a PSK (its bytes in wasm memory are overwritten; with a store, its saved copy is
   * deleted, if this origin imported it). Resolves false if there was none.
   */
  deletePsk(identity: string): Promise<boolean> {
    return this.#client.call('deletePsk', [identity]);
  }

  /** The identities of the PSKs this page may use: imported, and with a store saved (its origin's and those shared with it). */
  listPsks(): Promise<string[]> {
    return this.#client.call('listPsks', []);
  }

  /** Deletes every PSK this page's origin imported (from memory and, with a store, from storage); resolves with how many. */
  clearStore(): Promise<number> {
    return this.#client.call('clearStore', []);
  }

  /** A TLS client in the worker, over a WebSocket to `url`, with the PSK `options.identity`. */
  connect(url: string | URL, options: WorkerSocketOptions = {}): WorkerTlsSocket {
    return this.#socket('client', url, options);
  }

  /** A TLS server in the worker, over a WebSocket to `url` (a relay), accepting the imported PSKs. */
  accept(url: string | URL, options: WorkerSocketOptions = {}): WorkerTlsSocket {
    return this.#socket('server', url, options);
  }

  /** @internal Test workers only (the shipped worker refuses it): whether these bytes occur in the worker's wasm memory. */
  memoryContains(needle: Uint8Array): Promise<boolean> {
    return this.#client.call('memoryContains', [needle]) as Promise<boolean>;
  }

  /** @internal Test workers only (the shipped worker refuses it): makes the worker throw an error it does not catch. */
  crash(): Promise<void> {
    return this.#client.call('crash', []) as Promise<void>;
  }

  /** Stops the worker; its sockets and pending calls fail with ERR_WORKER_GONE. */
  terminate(): void {
    this.#client.die('the worker was terminated');
  }

  #socket(role: 'client' | 'server', url: string | URL, options: WorkerSocketOptions): WorkerTlsSocket {
    const socket = new WorkerTlsSocket(this.#client, this.#nextSocket++, role, String(url), options, this.#streams, this.#tap);
    if (this.#client.gone) socket.fail(this.#client.gone);
    else {
      this.#sockets.add(socket);
      void socket.closed.catch(() => {}).finally(() => this.#sockets.delete(socket));
    }
    return socket;
  }
}

/** A socket whose TLS runs in the worker: the same shape as connectTls()'s TlsSocket. */
export class WorkerTlsSocket implements TlsSocketLike {
  /** Resolves when the handshake is complete; rejects with a TlsError if it fails. */
  readonly opened: Promise<TlsSocketInfo>;
  /** Resolves when the socket is closed; rejects with the TlsError that ended it. */
  readonly closed: Promise<void>;
  /** Plaintext from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Plaintext to the peer; closing it sends close_notify. */
  readonly writable: WritableStream<Uint8Array>;

  readonly #client: WorkerClient;
  readonly #id: number;
  readonly #channel: PageChannel;
  #failure: TlsError | null = null;

  /** @internal Use TlsWorker.connect() or accept(). */
  constructor(
    client: WorkerClient,
    id: number,
    role: 'client' | 'server',
    url: string,
    options: WorkerSocketOptions,
    streams: StreamMode,
    tap?: (data: unknown) => void,
  ) {
    for (const [name, option] of Object.entries(options ?? {})) {
      // Callbacks cannot cross to the worker, and onKeylog would carry secrets out of it.
      if (typeof option === 'function') {
        throw new TlsError(
          'ERR_INVALID_ARGUMENT',
          `${name}: callbacks do not cross to the worker (its keys stay there); use connectTls() on the page to observe a connection`,
        );
      }
    }
    this.#client = client;
    this.#id = id;
    this.#channel = openChannel(streams, (error) => this.#explain(error), tap);
    this.readable = this.#channel.readable;
    this.writable = this.#channel.writable;
    const { channel, transfer } = this.#channel;
    this.opened = client.call('open', [id, role, url, options, channel], transfer);
    this.opened.catch((error: unknown) => this.fail(error instanceof TlsError ? error : new TlsError('ERR_TRANSPORT', String(error))));
    // Asked at once (the worker forgets a socket once it has closed); if the socket never
    // opened, its closed fails with the same error as opened.
    this.closed = client.call('closed', [id]).catch(async (error: unknown) => {
      throw (
        (await this.opened.then(
          () => null,
          (e: unknown) => e,
        )) ?? error
      );
    });
    this.closed.catch(() => {});
  }

  /** Sends close_notify and closes (in the worker). */
  async close(): Promise<void> {
    // What the writable took has crossed (or is crossing) on another channel than this call:
    // the worker sends that many bytes before close_notify.
    await this.#client.call('close', [this.#id, this.#channel.sent()]).catch(() => {});
    await this.closed.catch(() => {});
  }

  /** Reads the plaintext, chunk by chunk (`for await (const chunk of socket)`), in every engine. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    yield* readChunks(this.readable);
  }

  /** @internal The socket failed before it opened, or the worker is gone: everything fails with `error`. */
  fail(error: TlsError): void {
    this.#failure ??= error;
    this.#channel.fail(this.#failure);
  }

  /** The socket's own error, for one that crossed as a plain clone. */
  async #explain(error: unknown): Promise<TlsError> {
    if (this.#failure) return this.#failure;
    const reported = await Promise.race([
      this.closed.then(
        () => null,
        (e: unknown) => (e instanceof TlsError ? e : null),
      ),
      new Promise<null>((resolve) => setTimeout(resolve, 1000, null)),
    ]);
    return reported ?? new TlsError('ERR_TRANSPORT', `the worker's stream failed: ${textOf(error)}`, { cause: error });
  }
}
