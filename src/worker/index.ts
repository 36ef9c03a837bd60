/**
 * createTlsWorker(): the TLS engine and the PSKs in a Web Worker (or a Node worker thread),
 * the page holding only plaintext streams. Keys go in with importPsk(), whose ArrayBuffer is
 * transferred (the page's copy is detached) and wiped in the worker once OpenSSL holds it;
 * nothing the worker sends back contains them.
 *
 * A socket from connect()/accept() has the shape of connectTls()'s. Its streams are backed by
 * streams transferred to the worker, so backpressure crosses too. If the worker crashes or is
 * terminated, every socket and pending call fails with ERR_WORKER_GONE; start a new worker.
 */
import { transfer, wrap, type Remote } from 'comlink/dist/esm/comlink.mjs';
import { TlsError, describe } from '../errors.js';
import type { TlsSocketInfo } from '../socket.js';
import { installErrorTransfer, type PassphraseOptions, type TlsWorkerApi, type WorkerSocketOptions } from './protocol.js';

export type { PassphraseOptions, WorkerSocketOptions } from './protocol.js';

export interface TlsWorkerOptions {
  /** Where the worker script is (default: tls-worker.js beside this module). */
  workerUrl?: string | URL;
  /** Adds memoryContains() and crash() for tests. Never in production: the first is an oracle on the keys. */
  debug?: boolean;
  /** Called with every message the page receives from the worker, for audits (and tests). */
  tap?: (data: unknown) => void;
}

interface PlatformWorker {
  terminate(): unknown;
  /** Calls `onGone` once if the worker crashes or exits. */
  watch(onGone: (reason: string) => void): void;
}

const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string'
  && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined'
  && typeof (globalThis as { window?: unknown }).window === 'undefined';

/** Starts a TLS worker and waits until it answers. */
export async function createTlsWorker(options: TlsWorkerOptions = {}): Promise<TlsWorker> {
  installErrorTransfer();
  const debug = options.debug === true;
  let platform: PlatformWorker;
  let api: Remote<TlsWorkerApi>;
  if (isNode) {
    const { Worker } = (await import('node:worker_threads' as string)) as {
      Worker: new (url: URL, options: { workerData: unknown }) => {
        terminate(): Promise<number>;
        on(event: string, listener: (value: unknown) => void): void;
      };
    };
    const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
    const worker = new Worker(new URL(options.workerUrl ?? new URL('../node/tls-worker.js', import.meta.url)), { workerData: { debug } });
    if (options.tap) worker.on('message', options.tap);
    api = wrap<TlsWorkerApi>(nodeEndpoint(worker));
    platform = {
      terminate: () => worker.terminate(),
      watch(onGone) {
        worker.on('error', (error) => onGone(`the worker crashed: ${error instanceof Error ? error.message : String(error)}`));
        worker.on('exit', (code) => onGone(`the worker exited (code ${String(code)})`));
      },
    };
  } else {
    const url = new URL(options.workerUrl ?? new URL('./tls-worker.js', import.meta.url), globalThis.location?.href);
    if (debug) url.searchParams.set('debug', '');
    const worker = new Worker(url, { type: 'module' });
    const tap = options.tap;
    if (tap) worker.addEventListener('message', (event) => tap(event.data));
    api = wrap<TlsWorkerApi>(worker);
    platform = {
      terminate: () => worker.terminate(),
      watch(onGone) {
        worker.addEventListener('error', (event) => {
          event.preventDefault();
          onGone(`the worker crashed: ${event.message || 'an error it did not handle (or its script failed to load)'}`);
        });
        worker.addEventListener('messageerror', () => onGone('a message from the worker could not be read'));
      },
    };
  }
  const tlsWorker = new TlsWorker(api, platform);
  await tlsWorker.listPsks(); // answers once its script has loaded
  return tlsWorker;
}

export class TlsWorker {
  readonly #api: Remote<TlsWorkerApi>;
  readonly #platform: PlatformWorker;
  readonly #sockets = new Set<WorkerTlsSocket>();
  #gone: TlsError | null = null;
  #rejectAll!: (error: TlsError) => void;
  readonly #whenGone: Promise<never>;
  #nextId = 1;

  /** @internal Use createTlsWorker(). */
  constructor(api: Remote<TlsWorkerApi>, platform: PlatformWorker) {
    this.#api = api;
    this.#platform = platform;
    this.#whenGone = new Promise<never>((_, reject) => (this.#rejectAll = reject));
    this.#whenGone.catch(() => {});
    platform.watch((reason) => this.#die(reason));
  }

  /** True once the worker has crashed or been terminated. */
  get gone(): boolean {
    return this.#gone !== null;
  }

  /**
   * Imports a PSK. `key` is transferred: after the call the page's ArrayBuffer is detached
   * (empty). `cipher` is the TLS 1.3 suite of its digest (default TLS_AES_128_GCM_SHA256).
   */
  importPsk(identity: string, key: ArrayBuffer, options: { cipher?: string } = {}): Promise<void> {
    if (!(key instanceof ArrayBuffer)) {
      return Promise.reject(new TlsError('ERR_INVALID_ARGUMENT', `importPsk() takes the key as an ArrayBuffer, which it transfers; got ${describe(key)}`));
    }
    return this.#call((api) => api.importPsk(identity, transfer(key, [key]), options));
  }

  /** Derives a PSK in the worker with PBKDF2 (WebCrypto), so the key never exists in the page. */
  importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions = {}): Promise<void> {
    return this.#call((api) => api.importPskFromPassphrase(identity, passphrase, salt, options));
  }

  /** Forgets a PSK (its bytes are overwritten). Resolves false if there was none. */
  deletePsk(identity: string): Promise<boolean> {
    return this.#call((api) => api.deletePsk(identity));
  }

  /** The identities of the imported PSKs. */
  listPsks(): Promise<string[]> {
    return this.#call((api) => api.listPsks());
  }

  /** A TLS client in the worker, over a WebSocket to `url`, with the PSK `options.identity`. */
  connect(url: string | URL, options: WorkerSocketOptions = {}): WorkerTlsSocket {
    return new WorkerTlsSocket(this.#internals(), 'client', String(url), options);
  }

  /** A TLS server in the worker, over a WebSocket to `url` (a relay), accepting the imported PSKs. */
  accept(url: string | URL, options: WorkerSocketOptions = {}): WorkerTlsSocket {
    return new WorkerTlsSocket(this.#internals(), 'server', String(url), options);
  }

  /** Debug workers only: whether these bytes occur in the worker's wasm memory. */
  memoryContains(needle: Uint8Array): Promise<boolean> {
    return this.#call((api) => api.memoryContains(needle));
  }

  /** Debug workers only: makes the worker throw an error it does not catch. */
  crash(): Promise<void> {
    return this.#call((api) => api.crash());
  }

  /** Stops the worker; its sockets and pending calls fail with ERR_WORKER_GONE. */
  terminate(): void {
    this.#die('the worker was terminated');
    void this.#platform.terminate();
  }

  #die(reason: string): void {
    if (this.#gone) return;
    this.#gone = new TlsError('ERR_WORKER_GONE', `the TLS worker is gone (${reason}); its connections are closed: create a new worker`);
    this.#rejectAll(this.#gone);
    for (const socket of this.#sockets) socket.fail(this.#gone);
    this.#sockets.clear();
    if (!reason.includes('terminated')) void this.#platform.terminate();
  }

  /** Runs a call on the worker; it fails at once if the worker is, or goes, away. */
  #call<T>(fn: (api: Remote<TlsWorkerApi>) => Promise<T>): Promise<T> {
    if (this.#gone) return Promise.reject(this.#gone);
    return Promise.race([fn(this.#api), this.#whenGone]);
  }

  #internals(): SocketHost {
    return {
      id: this.#nextId++,
      call: (fn) => this.#call(fn),
      register: (socket) => {
        if (this.#gone) socket.fail(this.#gone);
        else this.#sockets.add(socket);
      },
      unregister: (socket) => this.#sockets.delete(socket),
    };
  }
}

interface SocketHost {
  id: number;
  call<T>(fn: (api: Remote<TlsWorkerApi>) => Promise<T>): Promise<T>;
  register(socket: WorkerTlsSocket): void;
  unregister(socket: WorkerTlsSocket): void;
}

/** A socket whose TLS runs in the worker: the same shape as connectTls()'s TlsSocket. */
export class WorkerTlsSocket {
  readonly opened: Promise<TlsSocketInfo>;
  readonly closed: Promise<void>;
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;

  readonly #host: SocketHost;
  #readController!: ReadableStreamDefaultController<Uint8Array>;
  #writeController!: WritableStreamDefaultController;
  #failure: TlsError | null = null;

  /** @internal Use TlsWorker.connect() or accept(). */
  constructor(host: SocketHost, role: 'client' | 'server', url: string, options: WorkerSocketOptions) {
    for (const [name, option] of Object.entries(options)) {
      // Callbacks cannot cross to the worker, and onKeylog would carry secrets out of it.
      if (typeof option === 'function') {
        throw new TlsError('ERR_INVALID_ARGUMENT', `${name}: callbacks do not cross to the worker (its keys stay there); use connectTls() on the page to observe a connection`);
      }
    }
    this.#host = host;
    const toPage = new TransformStream<Uint8Array, Uint8Array>();
    const fromPage = new TransformStream<Uint8Array, Uint8Array>();
    const { id } = host;
    this.opened = host.call((api) => api.open(id, role, url, options, transfer(toPage.writable, [toPage.writable]), transfer(fromPage.readable, [fromPage.readable])));
    this.opened.catch(() => {});
    this.closed = host.call((api) => api.closed(id));
    this.closed.catch(() => {});
    void this.closed.finally(() => host.unregister(this)).catch(() => {});

    // Page-side ends of the two streams, which turn whatever error crosses into the TlsError
    // the worker reports for the socket (a stream's error arrives as a plain clone).
    const reader = toPage.readable.getReader();
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => void (this.#readController = controller),
        pull: async (controller) => {
          try {
            const { value, done } = await reader.read();
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (error) {
            controller.error(await this.#typed(error));
          }
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    const writer = fromPage.writable.getWriter();
    this.writable = new WritableStream<Uint8Array>({
      start: (controller) => void (this.#writeController = controller),
      write: async (chunk) => {
        try {
          await writer.ready;
          await writer.write(chunk);
        } catch (error) {
          throw await this.#typed(error);
        }
      },
      close: async () => {
        try {
          await writer.close();
        } catch (error) {
          throw await this.#typed(error);
        }
      },
      abort: (reason) => writer.abort(reason),
    });
    host.register(this);
  }

  /** Sends close_notify and closes (in the worker). */
  async close(): Promise<void> {
    await this.#host.call((api) => api.close(this.#host.id)).catch(() => {});
    await this.closed.catch(() => {});
  }

  /** @internal The worker is gone: everything fails with `error`. */
  fail(error: TlsError): void {
    this.#failure ??= error;
    try {
      this.#readController.error(error);
    } catch {
      // already closed
    }
    this.#writeController.error(error);
  }

  async #typed(error: unknown): Promise<TlsError> {
    if (this.#failure) return this.#failure;
    if (error instanceof TlsError) return error;
    const reported = await Promise.race([
      this.closed.then(() => null, (e: unknown) => (e instanceof TlsError ? e : null)),
      new Promise<null>((resolve) => setTimeout(resolve, 1000, null)),
    ]);
    return reported ?? new TlsError('ERR_TRANSPORT', `the worker's stream failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
