// The benchmark's page (bench/page.html): the same measurements as in Node, run by
// bench/bench.mjs through Playwright in headless Chromium, with the browser bundle.
import * as api from '/dist/browser/openssl-psk-wasm.js';
import createBench from '/bench/dist/bench-wasm.mjs';
import { loadRawBench, loadTimes, memoryFigures, socketFigures } from './scenarios.mjs';

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
};
document.title = 'ready';
