/**
 * The page's end of a worker socket's plaintext: a MessagePort of its own carrying chunks with
 * credit-based backpressure (./port-streams.ts), or, on request, a pair of streams whose other
 * ends are transferred to the worker (Chromium, Firefox and Node can; WebKit cannot). The port
 * is the default in every engine: measured, it is as fast or faster everywhere (a transferred
 * stream carries one chunk per round trip; the port keeps a window in flight). Either way the
 * page gets a readable, a writable, and typed errors.
 */
import { TlsError } from '../core/errors.js';
import { streamsOverPort } from './port-streams.js';
import { PORT_WINDOW, type SocketChannel } from './protocol.js';

/** 'port': a MessagePort per socket (the default); 'transfer': transferred streams (not in WebKit). */
export type StreamMode = 'port' | 'transfer';

let transferable: boolean | undefined;

/** Whether this engine can transfer a ReadableStream through postMessage (checked once). */
export function canTransferStreams(): boolean {
  if (transferable === undefined) {
    const { port1, port2 } = new MessageChannel();
    try {
      const stream = new ReadableStream();
      port1.postMessage(stream, [stream as unknown as Transferable]);
      transferable = true;
    } catch {
      transferable = false; // WebKit: DataCloneError
    } finally {
      port1.close();
      port2.close();
    }
  }
  return transferable;
}

export interface PageChannel {
  /** What open() sends to the worker, and what it transfers. */
  channel: SocketChannel;
  transfer: Transferable[];
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Errors both streams with `error` (the worker is gone). */
  fail(error: TlsError): void;
  /** Bytes handed to the worker so far (close() tells the worker to send them all first). */
  sent(): number;
}

/**
 * A channel for one socket. `explain` turns an error that crossed untyped (a transferred
 * stream's error arrives as a plain clone) into the socket's TlsError.
 */
export function openChannel(mode: StreamMode, explain: (error: unknown) => Promise<TlsError>, tap?: (data: unknown) => void): PageChannel {
  if (mode === 'port') {
    const { port1, port2 } = new MessageChannel();
    const streams = streamsOverPort(port1, { window: PORT_WINDOW, transferWrites: false, ...(tap ? { tap } : {}) });
    return {
      channel: { kind: 'port', port: port2 },
      transfer: [port2],
      readable: streams.readable,
      writable: streams.writable,
      fail: streams.fail,
      sent: streams.sent,
    };
  }
  return transferredStreams(explain);
}

function transferredStreams(explain: (error: unknown) => Promise<TlsError>): PageChannel {
  const toPage = new TransformStream<Uint8Array, Uint8Array>();
  const fromPage = new TransformStream<Uint8Array, Uint8Array>();
  let readController!: ReadableStreamDefaultController<Uint8Array>;
  let writeController!: WritableStreamDefaultController;
  const reader = toPage.readable.getReader();
  const writer = fromPage.writable.getWriter();
  const typed = async (error: unknown): Promise<TlsError> => (error instanceof TlsError ? error : explain(error));
  let sent = 0;
  const readable = new ReadableStream<Uint8Array>(
    {
      start: (controller) => void (readController = controller),
      pull: async (controller) => {
        try {
          const { value, done } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(await typed(error));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  const writable = new WritableStream<Uint8Array>({
    start: (controller) => void (writeController = controller),
    write: async (chunk) => {
      try {
        await writer.ready;
        await writer.write(chunk);
        sent += chunk.byteLength;
      } catch (error) {
        throw await typed(error);
      }
    },
    close: async () => {
      try {
        await writer.close();
      } catch (error) {
        throw await typed(error);
      }
    },
    abort: (reason) => writer.abort(reason),
  });
  const transfer = [toPage.writable, fromPage.readable] as unknown as Transferable[];
  return {
    channel: { kind: 'streams', toPage: toPage.writable, fromPage: fromPage.readable },
    transfer,
    readable,
    writable,
    fail(error) {
      // (A stream already closed or errored ignores error().)
      readController.error(error);
      writeController.error(error);
      reader.cancel(error).catch(() => {});
      writer.abort(error).catch(() => {});
    },
    sent: () => sent,
  };
}
