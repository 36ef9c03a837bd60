// The Node test worker: the shipped service and checks, plus debugMethods().
import { parentPort } from 'node:worker_threads';
import { serveTlsWorker } from '../../lib/worker/serve.js';
import { TlsWorkerService } from '../../lib/worker/service.js';
import { debugMethods } from './debug-methods.js';

const service = new TlsWorkerService();
serveTlsWorker(parentPort, service, debugMethods(service));
