/**
 * A worker socket's two plaintext streams over one MessagePort (the default channel in every
 * engine; ./channel.ts). Each side of the port gets a readable (what the other side writes)
 * and a writable (what it sends), with credit-based backpressure:
 *
 *   sender → receiver   { t: 'chunk', bytes }   at most `window` bytes beyond the credit given
 *                       { t: 'end' }            the writable was closed
 *                       { t: 'abort', error }   the writable failed: the readable errors with it
 *   receiver → sender   { t: 'credit', n }      n more bytes may come (given as the reader reads)
 *                       { t: 'cancel', error }  the reader gave up: the writable errors with it
 *
 * A writer waits while its credit is used up, so a slow reader slows the writer across the
 * boundary, as transferred streams do. Once nothing more can come in (end, abort, or our
 * cancel) and nothing more goes out (our end or abort, or their cancel), the port is closed:
 * an open port with a listener is never collected, and WebKit slows down with each one. The
 * receiver holds at most twice the window (a chunk is never larger than the window); a sender
 * that ignores its credit (a compromised page) fails the stream instead of growing the other
 * side's memory.
 */
import { TlsError } from '../core/errors.js';
import { fromWire, toWire, type WireError } from './protocol.js';

export interface PortStreamOptions {
  /** Bytes the other side may send before it must wait for credit. */
  window: number;
  /**
   * Transfer the bytes written (they must then not be used again: true for chunks the
   * library made itself). False copies them, so a caller's buffers stay intact.
   */
  transferWrites: boolean;
  /** Sees every message that arrives, for audits. */
  tap?: (data: unknown) => void;
}

type PortMessage =
  { t: 'chunk'; bytes: Uint8Array } | { t: 'end' } | { t: 'abort'; error: WireError } | { t: 'credit'; n: number } | { t: 'cancel'; error: WireError };

export interface PortStreams {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Errors both streams (e.g. the worker is gone) and closes the port. */
  fail(error: TlsError): void;
  /** Bytes the writable has posted so far. */
  sent(): number;
}

export function streamsOverPort(port: MessagePort, { window, transferWrites, tap }: PortStreamOptions): PortStreams {
  // What arrives, for the readable.
  const queue: Uint8Array[] = [];
  let outstanding = 0; // bytes received and not yet credited back
  let ended = false;
  let inFailure: TlsError | null = null;
  let arrived: (() => void) | null = null;
  // What may be sent, for the writable.
  let credit = window;
  let posted = 0;
  let outFailure: TlsError | null = null;
  let creditCame: (() => void) | null = null;
  let writeController!: WritableStreamDefaultController;
  let readController!: ReadableStreamDefaultController<Uint8Array>;
  let inDone = false; // nothing more will arrive for the readable
  let outDone = false; // nothing more will be sent from the writable
  const doneIn = (): void => {
    inDone = true;
    if (outDone) shut();
  };
  const doneOut = (): void => {
    outDone = true;
    if (inDone) shut();
  };
  const shut = (): void => {
    port.onmessage = null;
    port.close();
  };

  const post = (message: PortMessage, transfer: Transferable[] = []): void => {
    try {
      port.postMessage(message, transfer);
    } catch {
      // The port is closed: the other side is gone, which it reports itself.
    }
  };
  const wakeReader = (): void => {
    const wake = arrived;
    arrived = null;
    wake?.();
  };
  const wakeWriter = (): void => {
    const wake = creditCame;
    creditCame = null;
    wake?.();
  };
  /** The readable fails at once (what was queued is dropped), as an aborted stream's does. */
  const failIn = (error: TlsError): void => {
    if (inFailure) return;
    inFailure = error;
    doneIn();
    queue.length = 0;
    readController.error(error); // (a stream already closed ignores it)
    wakeReader();
  };
  const failOut = (error: TlsError): void => {
    if (outFailure) return;
    outFailure = error;
    doneOut();
    writeController.error(error);
    wakeWriter();
  };
  const violation = (what: string): void => {
    const error = new TlsError('ERR_TRANSPORT', `the other side of the TLS worker's socket channel broke its protocol: ${what}`);
    post({ t: 'abort', error: toWire(error) });
    post({ t: 'cancel', error: toWire(error) });
    failIn(error);
    failOut(error);
  };

  port.onmessage = (event: MessageEvent) => {
    const m = event.data as Partial<Record<string, unknown>> | null;
    tap?.(m);
    if (m === null || typeof m !== 'object') return violation('a message that is not an object');
    switch (m['t']) {
      case 'chunk': {
        const bytes = m['bytes'];
        if (!(bytes instanceof Uint8Array)) return violation('a chunk that is not a Uint8Array');
        if (ended || inFailure) return;
        outstanding += bytes.length;
        if (outstanding > 2 * window) return violation(`more than ${2 * window} bytes sent without credit`);
        queue.push(bytes);
        return wakeReader();
      }
      case 'end':
        ended = true;
        wakeReader();
        return doneIn();
      case 'abort':
        return failIn(wireError(m['error']));
      case 'credit': {
        const n = m['n'];
        if (!Number.isSafeInteger(n) || (n as number) <= 0) return violation('a credit that is not a positive whole number');
        credit = Math.min(credit + (n as number), window);
        return wakeWriter();
      }
      case 'cancel':
        return failOut(wireError(m['error']));
      default:
        return violation('an unknown message');
    }
  };

  const readable = new ReadableStream<Uint8Array>(
    {
      start: (controller) => void (readController = controller),
      pull: async (controller) => {
        for (;;) {
          const next = queue.shift();
          if (next) {
            outstanding -= next.length;
            controller.enqueue(next);
            if (next.length > 0) post({ t: 'credit', n: next.length });
            return;
          }
          if (inFailure) return; // errored by failIn
          if (ended) return controller.close();
          await new Promise<void>((resolve) => (arrived = resolve));
        }
      },
      cancel: (reason) => {
        const error = reason instanceof TlsError ? reason : new TlsError('ERR_CLOSED', 'the reader cancelled the stream');
        failIn(error);
        post({ t: 'cancel', error: toWire(error) });
      },
    },
    { highWaterMark: 0 },
  );

  const writable = new WritableStream<Uint8Array>({
    start: (controller) => void (writeController = controller),
    write: async (chunk) => {
      if (!(chunk instanceof Uint8Array)) {
        throw new TlsError('ERR_INVALID_ARGUMENT', 'a chunk written to the TLS socket must be a Uint8Array');
      }
      for (let at = 0; at < chunk.length;) {
        while (credit <= 0 && !outFailure) await new Promise<void>((resolve) => (creditCame = resolve));
        if (outFailure) throw outFailure;
        const piece = chunk.subarray(at, at + window);
        const own = transferWrites && piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength ? piece : piece.slice();
        credit -= own.length;
        posted += own.length; // (before the post: a transferred buffer is detached after it)
        post({ t: 'chunk', bytes: own }, [own.buffer]);
        at += piece.length;
      }
    },
    close: () => {
      post({ t: 'end' });
      doneOut();
    },
    abort: (reason) => {
      const error = reason instanceof TlsError ? reason : new TlsError('ERR_CLOSED', 'the writable was aborted');
      outFailure ??= error;
      post({ t: 'abort', error: toWire(error) });
      doneOut();
    },
  });

  return {
    readable,
    writable,
    fail(error) {
      failIn(error);
      failOut(error);
      shut();
    },
    sent: () => posted,
  };
}

/** A WireError from the other side, checked; anything else becomes a generic transport error. */
function wireError(value: unknown): TlsError {
  const w = value as Partial<WireError> | null;
  if (
    w &&
    typeof w === 'object' &&
    typeof w.code === 'string' &&
    /^ERR_[A-Z0-9_]+$/.test(w.code) &&
    typeof w.message === 'string' &&
    Array.isArray(w.openssl)
  ) {
    return fromWire({ ...w, openssl: w.openssl.filter((s): s is string => typeof s === 'string') } as WireError);
  }
  return new TlsError('ERR_TRANSPORT', "the TLS worker's socket channel failed");
}
