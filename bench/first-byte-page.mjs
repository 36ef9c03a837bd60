// The page of the cold first-byte figures (bench/first-byte.mjs serves it as
// /first-byte/<variant>.html, a fresh browser context each time): at once, as an application
// that connects when it starts, it sends one line through the bridge and waits for the first
// byte of the answer. Every variant imports the same bundle, so the pages weigh the same but
// for the module. The page records when each step began and ended (ms since navigation
// start) by watching WebAssembly and WebSocket calls, and sets window.result.
//   ?variant=plain        a plain WebSocket through the bridge to a TCP echo server (the floor)
//   ?variant=tls          connectTls to openssl s_server -rev: the module loads while the WebSocket opens
//   ?variant=sequential   loadOpenSSL() first, then connectTls: the module, then the WebSocket
//   ?variant=preload      as tls, in a page that preloads the module with <link rel="preload">
//   ?variant=accept       connectTls to an acceptTls echo server
//   ?variant=early        the same, the line sent as 0-RTT early data (answered as 0.5-RTT data)
// &warm=N adds N connections of each kind (the page's TLS variant and plain) once the first is
// done: the module is loaded then; each TLS one traces its handshake for the warm breakdown.
import * as api from '/dist/browser/openssl-psk-wasm.js';

const params = new URLSearchParams(location.search);
const variant = params.get('variant');
const warmRounds = Number(params.get('warm') ?? 0);
const config = JSON.parse(params.get('config'));
const LINE = new TextEncoder().encode('first byte\n');
const marks = {};
const now = () => performance.now();

/** Records the first call of each watched API and when it settled: the breakdown. */
function watch() {
  const wrap = (owner, name, mark) => {
    const original = owner[name];
    owner[name] = function (...args) {
      const begun = now();
      const result = original.apply(this, args);
      if (!marks[`${mark}Start`]) {
        marks[`${mark}Start`] = begun;
        Promise.resolve(result).then(
          () => (marks[`${mark}End`] ??= now()),
          () => {},
        );
      }
      return result;
    };
  };
  wrap(WebAssembly, 'compileStreaming', 'compile');
  wrap(WebAssembly, 'compile', 'compile');
  wrap(WebAssembly, 'instantiate', 'instantiate');
  const Platform = WebSocket;
  globalThis.WebSocket = class extends Platform {
    constructor(...args) {
      super(...args);
      if (!marks.wsStart) {
        marks.wsStart = now();
        this.addEventListener('open', () => (marks.wsOpen ??= now()));
      }
      this.addEventListener('open', () => (marks.lastWsOpen = now())); // each one's: the warm breakdown
    }
  };
}

const hexBytes = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
const psk = { identity: config.identity, key: hexBytes(config.keyHex) };

/** One TLS echo: connect, send the line (or with the ClientHello), time the first byte back. */
async function tlsEcho(url, { early = false, sequential = false, trace = false } = {}) {
  const t = { start: now() };
  const openssl = sequential ? await api.loadOpenSSL() : undefined;
  const socket = api.connectTls(url, {
    psk,
    ...(early ? { earlyData: LINE } : {}),
    ...(openssl ? { openssl } : {}),
    ...(trace ? { traceHandshake: true } : {}),
  });
  const reader = socket.readable.getReader();
  const info = await socket.opened;
  t.handshake = now();
  t.open = marks.lastWsOpen;
  if (trace) {
    // The handshake's steps, in ms since the socket began it (once the WebSocket was open and the module loaded).
    const at = (direction, name) => info.handshake.find((s) => s.direction === direction && s.name === name)?.timeMs ?? NaN;
    t.steps = { clientHello: at('sent', 'ClientHello'), serverFinished: at('received', 'Finished'), clientFinished: at('sent', 'Finished') };
  }
  if (!early) await socket.writable.getWriter().write(LINE);
  const { value } = await reader.read();
  t.firstByte = now();
  if (!value?.length) throw new Error('no answer');
  reader.releaseLock();
  await socket.close();
  return { ...t, earlyDataAccepted: info.earlyDataAccepted, cipher: info.cipher };
}

/** One plain echo over a WebSocket through the bridge. */
function plainEcho(url) {
  const t = { start: now() };
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    ws.onopen = () => ((t.open = now()), ws.send(LINE));
    ws.onmessage = () => {
      t.firstByte = now();
      ws.close(1000);
      resolve(t);
    };
    ws.onerror = () => reject(new Error(`the WebSocket to ${url} failed`));
  });
}

async function run() {
  watch();
  marks.scriptRun = now();
  const first =
    variant === 'plain'
      ? await plainEcho(config.plainUrl)
      : await tlsEcho(variant === 'accept' || variant === 'early' ? config.acceptUrl : config.opensslUrl, {
          early: variant === 'early',
          sequential: variant === 'sequential',
        });
  const warm = { tls: [], plain: [], tlsSteps: [], plainSteps: [] };
  for (let i = 0; i < warmRounds; i++) {
    const url = variant === 'accept' || variant === 'early' ? config.acceptUrl : config.opensslUrl;
    const tls = await tlsEcho(url, { early: variant === 'early', trace: true });
    if (variant === 'early' && !tls.earlyDataAccepted) throw new Error('early, warm: the server did not accept the early data');
    warm.tls.push(tls.firstByte - tls.start);
    const plain = await plainEcho(config.plainUrl);
    warm.plain.push(plain.firstByte - plain.start);
    warm.tlsSteps.push({
      'WebSocket open': tls.open - tls.start,
      'ClientHello sent (context, connection, ClientHello)': tls.steps.clientHello,
      "server's Finished received (after ClientHello)": tls.steps.serverFinished - tls.steps.clientHello,
      "client's Finished sent (after server's)": tls.steps.clientFinished - tls.steps.serverFinished,
      'opened (after WebSocket open)': tls.handshake - tls.open,
      'first byte (after opened)': tls.firstByte - tls.handshake,
    });
    warm.plainSteps.push({ 'WebSocket open': plain.open - plain.start, 'first byte (after open)': plain.firstByte - plain.open });
  }
  const resources = performance.getEntriesByType('resource').map((e) => ({
    name: e.name,
    initiatorType: e.initiatorType,
    startTime: e.startTime,
    responseEnd: e.responseEnd,
    transferSize: e.transferSize,
    encodedBodySize: e.encodedBodySize,
    decodedBodySize: e.decodedBodySize,
  }));
  const navigation = performance.getEntriesByType('navigation')[0];
  return { variant, first, marks, warm, resources, domContentLoaded: navigation?.domContentLoadedEventStart ?? null };
}

run().then(
  (result) => (window.result = result),
  (error) => (window.result = { error: `${error?.name}: ${error?.message}` }),
);
