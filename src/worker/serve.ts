/**
 * The worker's message loop: answers calls to the methods of TlsWorkerMethods, and nothing
 * else. Each call's arguments are checked (./validate.ts) before the service sees them; a
 * message of any other shape (a property get or set, a constructor call, a longer path) is
 * refused with an error reply and touches no object.
 */
import { TlsError } from '../core/errors.js';
import { toWire, type MethodName, type ReplyMessage } from './protocol.js';
import type { TlsWorkerService } from './service.js';
import * as check from './validate.js';

/** Where the worker's messages come from and go to: a worker's global scope, or Node's parentPort. */
export interface WorkerEndpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** A method: checks its arguments, then runs. */
type Handler = (args: readonly unknown[]) => unknown;

/** The public methods, each with its checks. */
function apiHandlers(service: TlsWorkerService): Record<MethodName, Handler> {
  return {
    start: (a) => {
      check.arity(a, 1, 1, 'start');
      return service.start(check.startOptions(a[0], 'options'));
    },
    importPsk: (a) =>
      wipedAfter(a[1], () => {
        check.arity(a, 2, 3, 'importPsk');
        return service.importPsk(check.identity(a[0], 'identity'), check.arrayBuffer(a[1], 'key'), check.importOptions(a[2], 'options'));
      }),
    importPskFromPassphrase: (a) => {
      check.arity(a, 3, 4, 'importPskFromPassphrase');
      return service.importPskFromPassphrase(
        check.identity(a[0], 'identity'),
        check.string(a[1], 'passphrase'),
        check.bytes(a[2], 'salt'),
        check.passphraseOptions(a[3], 'options'),
      );
    },
    deletePsk: (a) => {
      check.arity(a, 1, 1, 'deletePsk');
      return service.deletePsk(check.identity(a[0], 'identity'));
    },
    listPsks: (a) => {
      check.arity(a, 0, 0, 'listPsks');
      return service.listPsks();
    },
    clearStore: (a) => {
      check.arity(a, 0, 0, 'clearStore');
      return service.clearStore();
    },
    open: (a) => {
      check.arity(a, 5, 5, 'open');
      return service.open(
        check.socketId(a[0], 'socket'),
        check.role(a[1], 'role'),
        check.url(a[2], 'url'),
        check.socketOptions(a[3], 'options'),
        check.channel(a[4], 'channel'),
      );
    },
    closed: (a) => {
      check.arity(a, 1, 1, 'closed');
      return service.closed(check.socketId(a[0], 'socket'));
    },
    close: (a) => {
      check.arity(a, 1, 2, 'close');
      return service.close(check.socketId(a[0], 'socket'), a[1] === undefined ? 0 : check.count(a[1], 'sent'));
    },
  };
}

/** Runs `fn`; then, whatever happened, zeroes `key` if it is a buffer (a refused import too). */
async function wipedAfter(key: unknown, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } finally {
    if (key instanceof ArrayBuffer) new Uint8Array(key).fill(0);
  }
}

/**
 * Serves `service` on `endpoint`. `extra` adds methods, for test workers only (the shipped
 * worker scripts pass none).
 */
export function serveTlsWorker(endpoint: WorkerEndpoint, service: TlsWorkerService, extra: Record<string, Handler> = {}): void {
  const handlers = new Map<string, Handler>([...Object.entries(apiHandlers(service)), ...Object.entries(extra)]);
  const reply = (message: ReplyMessage): void => {
    try {
      endpoint.postMessage(message, []);
    } catch (error) {
      // A value that cannot be cloned: say so instead of leaving the call unanswered.
      endpoint.postMessage(
        { reply: message.reply, error: toWire(new TlsError('ERR_INVALID_ARGUMENT', `the TLS worker's answer could not be sent: ${String(error)}`)) },
        [],
      );
    }
  };
  endpoint.addEventListener('message', (event) => {
    const data = event.data as Partial<Record<string, unknown>> | null;
    const id = data !== null && typeof data === 'object' ? data['call'] : undefined;
    if (!Number.isSafeInteger(id) || typeof data?.['method'] !== 'string' || !Array.isArray(data['args'])) {
      // Not a call of ours (e.g. a generic RPC message): refused, answered if it can be.
      const said = data !== null && typeof data === 'object' ? (data['call'] ?? data['id']) : undefined;
      const replyTo = typeof said === 'number' || (typeof said === 'string' && said.length <= 64) ? said : null;
      return reply({
        reply: replyTo,
        error: toWire(new TlsError('ERR_INVALID_ARGUMENT', 'the TLS worker answers only calls to its own methods; this message was refused')),
      });
    }
    const method = data['method'];
    const handler = handlers.get(method);
    if (!handler) {
      return reply({
        reply: id as number,
        error: toWire(new TlsError('ERR_INVALID_ARGUMENT', `the TLS worker has no method ${JSON.stringify(method.slice(0, 64))}`)),
      });
    }
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(handler(data['args']));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => reply({ reply: id as number, value }),
      (error: unknown) => reply({ reply: id as number, error: toWire(error) }),
    );
  });
}
