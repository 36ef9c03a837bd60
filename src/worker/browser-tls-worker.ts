/**
 * The TLS worker script for browsers (a module worker; bundled as dist/browser/tls-worker.js).
 * Node's twin is src/node/node-tls-worker.ts. No top-level await: the worker must be listening
 * before the page's first message arrives. It answers only the methods of
 * ./protocol.ts (./serve.ts checks each call).
 */
import { serveTlsWorker } from './serve.js';
import { TlsWorkerService } from './service.js';

serveTlsWorker(self as unknown as Parameters<typeof serveTlsWorker>[0], new TlsWorkerService());
