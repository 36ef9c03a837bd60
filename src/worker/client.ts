/**
 * The page's end of the worker protocol (./protocol.ts): numbered calls, their replies, and
 * the worker's death. Every failure that comes out of here is a TlsError: a reply's error,
 * a value that cannot be sent (DataCloneError), or ERR_WORKER_GONE once the worker crashed or
 * was terminated (a call to a dead worker would otherwise never settle).
 */
import { TlsError } from '../core/errors.js';
import { asTlsError, fromWire, type MethodName, type TlsWorkerMethods, type WireError } from './protocol.js';

/** The worker as the page sees it: a browser Worker or a Node worker thread. */
export interface PlatformWorker {
  postMessage(message: unknown, transfer: Transferable[]): void;
  /** Calls `listener` with each message's data. */
  onMessage(listener: (data: unknown) => void): void;
  /** Calls `onGone` once if the worker crashes or exits. */
  watch(onGone: (reason: string) => void): void;
  terminate(): unknown;
}

type Settle = { resolve(value: unknown): void; reject(error: TlsError): void };

export class WorkerClient {
  readonly #worker: PlatformWorker;
  readonly #pending = new Map<number, Settle>();
  #nextCall = 1;
  #gone: TlsError | null = null;
  readonly #onGone: (error: TlsError) => void;

  constructor(worker: PlatformWorker, onGone: (error: TlsError) => void) {
    this.#worker = worker;
    this.#onGone = onGone;
    worker.onMessage((data) => this.#onReply(data));
    worker.watch((reason) => this.die(reason));
  }

  get gone(): TlsError | null {
    return this.#gone;
  }

  /** Calls `method` in the worker; `transfer` lists what moves instead of being copied. */
  call<M extends MethodName>(method: M, args: Parameters<TlsWorkerMethods[M]>, transfer?: Transferable[]): Promise<Awaited<ReturnType<TlsWorkerMethods[M]>>>;
  /** A method only a test worker answers. */
  call(method: string, args: unknown[], transfer?: Transferable[]): Promise<unknown>;
  call(method: string, args: unknown[], transfer: Transferable[] = []): Promise<unknown> {
    if (this.#gone) return Promise.reject(this.#gone);
    const id = this.#nextCall++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ call: id, method, args }, transfer);
      } catch (error) {
        this.#pending.delete(id);
        reject(asTlsError(error, 'ERR_INVALID_ARGUMENT', `${method}(): the arguments cannot be sent to the TLS worker (only plain data crosses)`));
      }
    });
  }

  #onReply(data: unknown): void {
    const m = data as { reply?: unknown; value?: unknown; error?: WireError } | null;
    if (m === null || typeof m !== 'object' || typeof m.reply !== 'number') return;
    const pending = this.#pending.get(m.reply);
    if (!pending) return;
    this.#pending.delete(m.reply);
    if (m.error) pending.reject(fromWire(m.error));
    else pending.resolve(m.value);
  }

  /** The worker is gone: every pending and later call fails with ERR_WORKER_GONE. */
  die(reason: string): void {
    if (this.#gone) return;
    this.#gone = new TlsError('ERR_WORKER_GONE', `the TLS worker is gone (${reason}); its connections are closed: create a new worker`);
    for (const { reject } of this.#pending.values()) reject(this.#gone);
    this.#pending.clear();
    this.#onGone(this.#gone);
    void this.#worker.terminate();
  }
}
