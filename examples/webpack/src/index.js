// A page built by webpack 5 with openssl-psk-wasm installed from npm: one echo with the engine in
// the page (connectTls), one through the TLS worker (createTlsWorker) and one through a worker
// with a same-origin store (createTlsWorker({ store }): the vault's worker script), through a bridge.
// The bridge URL, identity and key come from the query string (?url=…&identity=…&key=hex), for
// the test that drives this page; the outcome goes into #result.
import { connectTls } from 'openssl-psk-wasm';
import { createTlsWorker } from 'openssl-psk-wasm/worker';

const query = new URLSearchParams(location.search);
const identity = query.get('identity');
const key = Uint8Array.from(query.get('key')?.match(/../g) ?? [], (b) => parseInt(b, 16));

/** Sends one line on an open socket and resolves with the echoed line. */
async function echo(socket, line) {
  const info = await socket.opened;
  const writer = socket.writable.getWriter();
  await writer.write(new TextEncoder().encode(`${line}\n`));
  let received = '';
  for await (const chunk of socket) {
    received += new TextDecoder().decode(chunk);
    if (received.includes('\n')) break;
  }
  await socket.close();
  return `${info.protocol} ${received.trim()}`;
}

const describeError = (error) => `${error.code ?? error.name}: ${error.message}`;
const result = {};
try {
  result.page = await echo(connectTls(query.get('url'), { psk: { identity, key } }), 'from the page');
} catch (error) {
  result.page = describeError(error);
}
try {
  const worker = await createTlsWorker();
  await worker.importPsk(identity, key.slice().buffer);
  result.worker = await echo(worker.connect(query.get('url'), { identity }), 'from the worker');
  worker.terminate();
} catch (error) {
  result.worker = describeError(error);
}
try {
  const worker = await createTlsWorker({ store: 'bundled' });
  await worker.importPsk(identity, key.slice().buffer);
  result.store = await echo(worker.connect(query.get('url'), { identity }), 'from the store');
  await worker.clearStore();
  worker.terminate();
} catch (error) {
  result.store = describeError(error);
}
const out = document.getElementById('result');
out.textContent = JSON.stringify(result);
out.dataset.done = '1';
