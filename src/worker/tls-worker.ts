/**
 * The TLS worker script for browsers (a module worker). No top-level await: comlink must be
 * listening before the page's first message arrives. Debug mode: `?debug` on its URL.
 */
import { expose } from 'comlink/dist/esm/comlink.mjs';
import { installErrorTransfer } from './protocol.js';
import { TlsWorkerService } from './service.js';

installErrorTransfer();
expose(new TlsWorkerService({ debug: new URL(self.location.href).searchParams.has('debug') }));
