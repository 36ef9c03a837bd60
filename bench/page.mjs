// The benchmark's page (bench/page.html): the same measurements as in Node, run by
// bench/bench.mjs in headless Chromium (all of them), Firefox and WebKit (the engine-level
// ones: worker and page sockets), with the browser bundle.
import * as api from '/dist/browser/openssl-psk-wasm.js';
import { createTlsWorker } from '/dist/browser/worker.js';
import createBench from '/bench/dist/bench-wasm.mjs';
import { WORKER_CASES, loadRawBench, loadTimes, memoryFigures, plainBulkFigure, socketFigures, workerFigures } from './scenarios.mjs';

window.bench = {
  async memory(timing) {
    const module = await WebAssembly.compileStreaming(fetch('/bench/dist/bench-wasm.wasm'));
    const raw = await loadRawBench(createBench, module);
    if (!raw.selftest()) throw new Error('the raw wasm build fails its self-test (RFC 7748, RFC 8439)');
    return memoryFigures(await api.loadOpenSSL(), raw, timing);
  },
  async load() {
    const bytes = await (await fetch('/dist/browser/openssl-psk.wasm')).arrayBuffer();
    return loadTimes(api, bytes);
  },
  async sockets(urls, timing) {
    return socketFigures(api, await api.loadOpenSSL(), urls, timing);
  },
  /**
   * The worker's figures on each path in `streamsList`; with `page`, the same cases in the page
   * too; with `plainUrl`, plain WebSocket bulk through the bridge to a sink (the floor);
   * `cases`: the cases to run (default WORKER_CASES; given, the page runs them to s_server too).
   */
  async engine(urls, timing, streamsList, page, plainUrl, cases) {
    const list = cases ?? WORKER_CASES;
    const figures = page
      ? await socketFigures(api, await api.loadOpenSSL(), urls, timing, { cases: list, servers: cases ? ['acceptTls', 's_server'] : ['acceptTls'] })
      : [];
    if (plainUrl) figures.push(await plainBulkFigure(WebSocket, plainUrl, timing));
    return [...figures, ...(await workerFigures(createTlsWorker, urls, timing, streamsList, list))];
  },
};
document.title = 'ready';
