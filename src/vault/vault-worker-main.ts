/** The shipped vault worker script (dist/browser/vault-worker.js): ./vault-worker.ts, no extras. */
import { runVaultWorker } from './vault-worker.js';

runVaultWorker(self as unknown as Parameters<typeof runVaultWorker>[0]);
