// The worker example: the TLS engine and the key in a Web Worker (createTlsWorker); the page
// keeps only plaintext streams.
import { createTlsWorker } from '/lib/worker.js';
import { fromHex, runPage } from '/ui.js';

const worker = await createTlsWorker();

await runPage(async ({ url, identity, keyHex, maxVersion }) => {
  const key = fromHex(keyHex);
  await worker.importPsk(identity, key.buffer); // transferred: `key` is empty afterwards
  document.getElementById('key').value = '';
  return worker.connect(url, { identity, maxVersion, traceHandshake: true });
});
