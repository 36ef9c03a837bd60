// The browser test worker (bundled by scripts/bundle.mjs --test into dist/test/): the shipped
// service and checks, plus debugMethods().
import { serveTlsWorker } from '../../src/worker/serve.ts';
import { TlsWorkerService } from '../../src/worker/service.ts';
import { debugMethods } from './debug-methods.js';

const service = new TlsWorkerService();
serveTlsWorker(self, service, debugMethods(service));
