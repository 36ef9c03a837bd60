/**
 * The TLS worker script for Node's worker_threads: the same service and checks as the
 * browsers' (src/worker/browser-tls-worker.ts).
 */
import { parentPort } from 'node:worker_threads';
import { serveTlsWorker } from '../worker/serve.js';
import { TlsWorkerService } from '../worker/service.js';

if (!parentPort) throw new Error('node-tls-worker.js runs as a worker thread (new Worker(…))');
serveTlsWorker(parentPort as unknown as Parameters<typeof serveTlsWorker>[0], new TlsWorkerService());
