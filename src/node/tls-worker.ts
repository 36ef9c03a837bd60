/** The TLS worker script for Node's worker_threads (workerData: { debug }). */
import { parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { installErrorTransfer } from '../worker/protocol.js';
import { TlsWorkerService } from '../worker/service.js';

if (!parentPort) throw new Error('tls-worker.js runs as a worker thread (new Worker(…))');
installErrorTransfer();
expose(new TlsWorkerService({ debug: Boolean((workerData as { debug?: boolean } | null)?.debug) }), nodeEndpoint(parentPort));
