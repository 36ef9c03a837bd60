#!/usr/bin/env node
// npm run bench [-- --json FILE] [-- --short] [-- --only worker|first-byte|bulk] [-- --runs N] [-- --build full]
// The library against native OpenSSL 1.1.1w on the same machine, in the same run:
//   in memory   handshakes/s and bulk MB/s through the TypeScript facade, in Node and in headless
//               Chromium, next to the same work in C: compiled to wasm ("raw"), and natively with
//               asm and with no-asm (bench/native/bench.c, built by bench/build.sh);
//   sockets     connectTls over a loopback WebSocket and the bridge to an acceptTls server and to
//               openssl s_server, next to Node's own tls module over TCP to the same kinds of server;
//   worker      the same TLS 1.3 handshake and ChaCha20 bulk through the TLS worker, on each stream
//               path (transferred streams; a MessagePort), in Node, Chromium, Firefox and WebKit,
//               next to the engine in the page of the same browser;
//   sizes, loadOpenSSL() time, wasm heap per idle established connection.
// Bulk through the facade uses drainInto()/readInto() with reused buffers (like the C); the
// 'read()' column is the same through drain()/read(), which allocate a buffer per record.
// Each figure runs for a fixed time after a warm-up, median of 3. --short runs every figure
// briefly (CI checks that every key is produced; the numbers mean nothing then). --only worker
// runs only the worker figures and the page figures they are compared with (for before/after
// comparisons: run it alternately, at least three times each).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createTcpServer } from 'node:net';
import { cpus } from 'node:os';
import { constants } from 'node:crypto';
import { Duplex } from 'node:stream';
import { WebSocket as NodeWebSocket } from 'ws';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as pskApi from '../lib/index.js';
import * as fullApi from '../lib/full.js';
import { startBridge } from '../lib/node/bridge.js';
import { createTlsWorker } from '../lib/worker/index.js';
import { launchBrowser } from '../examples/browsers.mjs';
import { serveStatic } from '../examples/static-server.mjs';
import createBench from './dist/bench-wasm.mjs';
import { firstByteFigures, firstByteLines } from './first-byte.mjs';
import {
  BULK_WRITE,
  HANDSHAKES,
  PRIMITIVES,
  SOCKET_CASES,
  SUITES,
  WORKER_CASES,
  heapPerConnection,
  loadRawBench,
  loadTimes,
  median3Async,
  memoryFigures,
  plainBulkFigure,
  sideContext,
  socketFigures,
  within,
  workerFigures,
} from './scenarios.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const unknown = args.filter(
  (a, i) => !['--short', '--json', '--only', '--runs', '--build'].includes(a) && !['--json', '--only', '--runs', '--build'].includes(args[i - 1]),
);
const ONLY = option('--only');
if (
  unknown.length ||
  (flag('--json') && !option('--json')) ||
  (flag('--only') && !['worker', 'first-byte', 'bulk'].includes(ONLY)) ||
  (flag('--build') && !['psk', 'full'].includes(option('--build')))
) {
  console.error('usage: npm run bench [-- --json FILE] [--short] [--only worker|first-byte|bulk] [--runs N] [--build psk|full]');
  process.exit(2);
}
const ONLY_WORKER = ONLY === 'worker';
/** Only the bulk figures: the ChaCha20 socket and worker bulk, next to the plain WebSocket's. */
const ONLY_BULK = ONLY === 'bulk';
const ONLY_FIRST_BYTE = ONLY === 'first-byte';
/** Runs of each cold first-byte variant (at least 7 for the README's figures). */
const FIRST_BYTE_RUNS = Number(option('--runs') ?? 0) || (flag('--short') ? 1 : 7);
// --build full: the Node figures on the full build instead of the PSK build (for comparing the
// two: run them alternately, at least three times each); the sizes show both builds either way.
const FULL = option('--build') === 'full';
const api = FULL ? fullApi : pskApi;
const BUILD_NAME = FULL ? 'openssl-psk-full' : 'openssl-psk';
const SHORT = flag('--short');
const TIMING = SHORT ? { seconds: 0.05, warmup: 0.02 } : { seconds: 1, warmup: 0.3 };
const CONNECTIONS = SHORT ? 50 : 1000;
const KEY = Buffer.alloc(32, 0x5c);
const { SSL_OP_ALLOW_NO_DHE_KEX } = constants;
const IDENTITY = 'bench';
const log = (line) => process.stderr.write(`[bench] ${line}\n`);
/** The stream paths of the TLS worker each environment has (WebKit cannot transfer streams). */
const STREAM_PATHS = { node: ['transfer', 'port'], chromium: ['transfer', 'port'], firefox: ['transfer', 'port'], webkit: ['port'] };

// Everything started is stopped on the way out, also on SIGINT/SIGTERM (a test's timeout).
const running = [];
async function stopAll() {
  while (running.length) {
    const stop = running.pop();
    try {
      await stop();
    } catch {
      // stopping what is already gone
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => stopAll().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15))));
}

// ---- Native OpenSSL: bench/native/bench.c, asm and no-asm ----

function nativeRun(variant, ...command) {
  const out = execFileSync(here(`./dist/bench-${variant}`), command.map(String), { encoding: 'utf8' });
  return JSON.parse(out);
}

function nativeFigures(variant) {
  const results = {};
  // Each run is its own process, so each warms up inside it before the timed part.
  const nativeMedian = (kind, name) => {
    const runs = [0, 1, 2].map(() => nativeRun(variant, kind, name, TIMING.seconds, TIMING.warmup).perSecond);
    return runs.sort((a, b) => a - b)[1];
  };
  if (!nativeRun(variant, 'selftest').selftest) throw new Error(`native ${variant} fails its self-test (RFC 7748, RFC 8439)`);
  for (const name of PRIMITIVES) results[name] = nativeMedian('x25519', name.split(' ')[1]);
  for (const scenario of HANDSHAKES) {
    results[`handshake ${scenario}`] = nativeMedian('handshake', scenario);
  }
  for (const suite of SUITES) {
    results[`bulk ${suite}`] = nativeMedian('bulk', suite) / 1e6;
  }
  return results;
}

// ---- Servers for the socket figures ----

// Node's tls options for each side of a case; its TLS 1.3 PSKs are SHA-256 ones only.
const tlsOptions = {
  'tls13-psk_dhe_ke': (suite) => ({ minVersion: 'TLSv1.3', ciphers: suite, ecdhCurve: 'X25519' }),
  // No group in common, and both allow psk_ke: the way to psk_ke between two OpenSSL 1.1.1+.
  'tls13-psk_ke': (suite, side) => ({
    minVersion: 'TLSv1.3',
    ciphers: suite,
    secureOptions: SSL_OP_ALLOW_NO_DHE_KEX,
    ecdhCurve: side === 'server' ? 'P-256' : 'X25519',
  }),
  'tls12-psk': () => ({ maxVersion: 'TLSv1.2', ciphers: 'PSK-AES128-GCM-SHA256' }),
  'tls12-ecdhe-psk-chacha': () => ({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-PSK-CHACHA20-POLY1305', ecdhCurve: 'X25519' }),
};
const sServerArgs = {
  'tls13-psk_dhe_ke': (suite) => ['-tls1_3', '-ciphersuites', suite, '-groups', 'X25519'],
  'tls13-psk_ke': (suite) => ['-tls1_3', '-ciphersuites', suite, '-allow_no_dhe_kex', '-groups', 'P-256'],
  'tls12-psk': () => ['-tls1_2', '-cipher', 'PSK-AES128-GCM-SHA256'],
  'tls12-ecdhe-psk-chacha': () => ['-tls1_2', '-cipher', 'ECDHE-PSK-CHACHA20-POLY1305'],
};

/** Reads everything, answers close_notify with its own: what every server here does. */
function sink(socket) {
  socket.on('error', () => {});
  socket.on('data', () => {});
  socket.on('end', () => socket.end());
}

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

/** An acceptTls server over TCP for one case, in this process. */
async function acceptTlsServer(ossl, test) {
  const side = sideContext(ossl, 'server', test.scenario, test.suite);
  const server = createTcpServer(async (socket) => {
    socket.on('error', () => {});
    const tls = api.acceptTls(Duplex.toWeb(socket), { context: side.context });
    try {
      await tls.readable.pipeTo(new WritableStream());
      await tls.close();
    } catch {
      socket.destroy();
    }
  });
  const port = await listen(server);
  return { port, stop: () => (server.close(), side.free()) };
}

/** Node's tls server for one case (the baseline for acceptTls). */
async function nodeTlsServer(test) {
  const server = createTlsServer({ ...tlsOptions[test.scenario](test.suite, 'server'), pskCallback: () => KEY }, sink);
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  return { port, stop: () => server.close() };
}

/** A port nobody listens on now (the kernel's choice). */
async function freePort() {
  const probe = createTcpServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function accepting(port) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing accepts on 127.0.0.1:${port}`);
}

/** openssl s_server for one case; its output goes nowhere (it prints what it receives). */
async function opensslServer(test) {
  const port = await freePort();
  const child = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      `127.0.0.1:${port}`,
      '-nocert',
      '-quiet',
      '-psk_identity',
      IDENTITY,
      '-psk',
      KEY.toString('hex'),
      ...sServerArgs[test.scenario](test.suite),
    ],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  const exited = once(child, 'exit');
  try {
    await accepting(port);
  } catch (error) {
    child.kill();
    throw error;
  }
  return { port, stop: () => (child.kill(), exited) };
}

// ---- Node's tls client: the baseline for the socket figures ----

function nodeTlsOpen(port, test) {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ...tlsOptions[test.scenario](test.suite, 'client'),
    pskCallback: () => ({ identity: IDENTITY, psk: KEY }),
    checkServerIdentity: () => undefined,
  });
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function nodeTlsClose(socket) {
  const closed = once(socket, 'close');
  socket.resume();
  socket.end();
  await within(closed, 30, "closing Node's tls socket");
}

async function nodeTlsHandshakes(port, test, seconds) {
  const start = performance.now() / 1000;
  let count = 0;
  do {
    const socket = await nodeTlsOpen(port, test);
    const group = socket.getEphemeralKeyInfo()?.name ?? null;
    if (group !== test.group) throw new Error(`Node tls: expected key exchange ${test.group ?? 'none'}, got ${group ?? 'none'}`);
    await nodeTlsClose(socket);
    count++;
  } while (performance.now() / 1000 < start + seconds);
  return count / (performance.now() / 1000 - start);
}

async function nodeTlsBulk(port, test, seconds) {
  const socket = await nodeTlsOpen(port, test);
  const plain = Buffer.alloc(BULK_WRITE, 0x42);
  const start = performance.now() / 1000;
  let bytes = 0;
  do {
    if (!socket.write(plain)) await within(once(socket, 'drain'), 30, "a write to Node's tls socket");
    bytes += plain.length;
  } while (performance.now() / 1000 < start + seconds);
  await nodeTlsClose(socket);
  return bytes / (performance.now() / 1000 - start);
}

// ---- The run ----

const ratio = (value, base) => (value && base ? value / base : null);

/** A TCP server that reads and discards, answering one byte once it reads a 0x00 (plainBulk's end marker). */
async function plainSink() {
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      if (chunk.includes(0)) socket.write(Buffer.from([1]));
    });
    socket.on('end', () => socket.end());
  });
  const port = await listen(server);
  return { port, stop: () => (server.close(), undefined) };
}

/** --only first-byte: the cold first-byte figures and their targets, nothing else. */
async function firstByteOnly() {
  const chromium = await launchBrowser('chromium');
  running.push(() => chromium.close());
  try {
    const firstByte = await within(firstByteFigures(chromium.playwright, { runs: FIRST_BYTE_RUNS, log }), 1800, 'the first-byte figures');
    const report = { machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, short: SHORT }, firstByte };
    report.targets = firstByteTargets(firstByte);
    for (const line of firstByteLines(firstByte)) console.log(line);
    console.log('\ntargets:');
    for (const t of report.targets) console.log(`  ${t.met ? 'met ' : 'MISS'}  ${t.name}: ${fmt(t.value)} (${t.target})`);
    if (option('--json')) writeFileSync(option('--json'), `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

async function main() {
  if (ONLY_FIRST_BYTE) return firstByteOnly();
  const PARTIAL = ONLY_WORKER || ONLY_BULK;
  const figures = [];
  // Both builds side by side: the PSK build (openssl-psk-wasm) and the full build (…/full).
  const sizeOf = (name, bundle) => {
    const bytes = readFileSync(here(`../wasm/dist/${name}.wasm`));
    const glue = readFileSync(here(`../wasm/dist/${name}.mjs`));
    return {
      wasm: bytes.length,
      wasmGzip9: gzipSync(bytes, { level: 9 }).length,
      glue: glue.length,
      glueGzip9: gzipSync(glue, { level: 9 }).length,
      bundle: readFileSync(here(`../dist/browser/${bundle}`)).length,
    };
  };
  const sizes = { ...sizeOf('openssl-psk', 'openssl-psk-wasm.js'), full: sizeOf('openssl-psk-full', 'full.js') };

  const native = { asm: {}, noAsm: {} };
  if (!PARTIAL) {
    log('native OpenSSL 1.1.1w, asm and no-asm (bench/dist/bench-asm, bench-no-asm)');
    native.asm = nativeFigures('asm');
    native.noAsm = nativeFigures('no-asm');
  }

  const addMemory = (env, list) => {
    for (const f of list) {
      figures.push({
        // X25519 alone has no facade figure: its value is the C in wasm.
        name: f.name,
        env,
        unit: f.unit,
        value: f.facade ?? f.raw,
        native: native.asm[f.name],
        ratio: ratio(f.facade ?? f.raw, native.asm[f.name]),
        raw: f.raw,
        rawRatio: ratio(f.raw, native.asm[f.name]),
        ...(f.facade ? { facadeOverRaw: ratio(f.facade, f.raw) } : {}),
        nativeNoAsm: native.noAsm[f.name],
        ratioNoAsm: ratio(f.facade ?? f.raw, native.noAsm[f.name]),
        ...(f.facadeAllocating ? { valueAllocating: f.facadeAllocating } : {}),
      });
    }
  };

  const bytes = readFileSync(here(`../wasm/dist/${BUILD_NAME}.wasm`));
  const ossl = await api.loadOpenSSL({ module: await api.compileOpenSSL({ wasmBinary: bytes }) });
  const loadMs = {};
  let firstByte = null;
  let heap = null;
  if (!PARTIAL) {
    log('Node: in memory, facade and raw C in wasm');
    const raw = await loadRawBench(createBench, await WebAssembly.compile(readFileSync(here('./dist/bench-wasm.wasm'))));
    if (!raw.selftest()) throw new Error('the raw wasm build fails its self-test (RFC 7748, RFC 8439)');
    addMemory('node', memoryFigures(ossl, raw, TIMING));
    loadMs.node = await loadTimes(api, bytes);
    log('Node: heap per idle connection');
    heap = await heapPerConnection(api, await api.compileOpenSSL({ wasmBinary: bytes }), CONNECTIONS);
  }

  log('servers: acceptTls, openssl s_server, Node tls; the bridge');
  const urls = {};
  const baseline = {};
  const serverOssl = await api.loadOpenSSL();
  const started = (server) => (running.push(server.stop), server);
  const figureBudget = 30 + 4 * (TIMING.warmup + 3 * TIMING.seconds);
  try {
    const targets = [];
    const bulkCase = 'bulk TLS_CHACHA20_POLY1305_SHA256';
    const cases = SOCKET_CASES.filter((c) => (ONLY_WORKER ? WORKER_CASES.includes(c.name) : ONLY_BULK ? c.name === bulkCase : true));
    for (const test of cases) {
      const ours = started(await acceptTlsServer(serverOssl, test));
      const openssl = started(await opensslServer(test));
      const node = started(await nodeTlsServer(test));
      targets.push(`127.0.0.1:${ours.port}`, `127.0.0.1:${openssl.port}`);
      urls[test.name] = { acceptTls: ours.port, s_server: openssl.port };
      baseline[test.name] = { acceptTls: node.port, s_server: openssl.port };
    }
    const sink = started(await plainSink());
    targets.push(`127.0.0.1:${sink.port}`);
    const bridge = await startBridge({ allow: targets, maxConnections: 1024 });
    const plainUrl = `${bridge.url}/127.0.0.1:${sink.port}`;
    running.push(() => bridge.close());
    for (const test of cases) {
      for (const server of Object.keys(urls[test.name])) urls[test.name][server] = `${bridge.url}/127.0.0.1:${urls[test.name][server]}`;
    }

    log('Node: sockets, ours and Node tls');
    const nativeSocket = {};
    for (const test of cases) {
      for (const [server, port] of Object.entries(baseline[test.name])) {
        const run = test.bulk ? nodeTlsBulk : nodeTlsHandshakes;
        const value = await within(
          median3Async((t) => run(port, test, t), TIMING),
          figureBudget,
          `Node tls: ${test.name} to ${server}`,
        );
        nativeSocket[`socket ${test.name} to ${server}`] = test.bulk ? value / 1e6 : value;
      }
    }
    const addSocket = (env, list) => {
      for (const f of list) {
        const native = nativeSocket[f.name.replace(/^worker \([a-z]+\) /, '')];
        figures.push({ ...f, env, native, ratio: ratio(f.value, native) });
      }
    };
    const socketBudget = figureBudget * 2 * SOCKET_CASES.length;
    const only = ONLY_WORKER
      ? { cases: WORKER_CASES, servers: ['acceptTls'] }
      : ONLY_BULK
        ? { cases: [bulkCase], servers: ['acceptTls', 's_server'] }
        : undefined;
    addSocket('node', await within(socketFigures(api, ossl, urls, TIMING, only), socketBudget, 'the socket figures in Node'));
    log('Node: plain WebSocket bulk through the bridge (the floor of the bulk figures)');
    figures.push({ ...(await within(plainBulkFigure(NodeWebSocket, plainUrl, TIMING), figureBudget, 'plain WebSocket bulk in Node')), env: 'node' });

    const web = await serveStatic({ mounts: { '/': here('..') } });
    running.push(() => web.close());
    if (!PARTIAL) {
      log('Chromium: in memory, load time and sockets (bench/page.html)');
      const chromium = await launchBrowser('chromium');
      running.push(() => chromium.close());
      const page = await chromium.playwright.newPage();
      const pageErrors = [];
      page.on('pageerror', (error) => pageErrors.push(error));
      await page.goto(`${web.url}/bench/page.html`);
      await page
        .waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 })
        .catch(() => {
          throw new Error(`the benchmark page did not load: ${pageErrors.join('; ') || 'no error reported'}`);
        });
      const memoryBudget = figureBudget * 3 * (PRIMITIVES.length + HANDSHAKES.length + SUITES.length);
      addMemory(
        'chromium',
        await within(
          page.evaluate((timing) => window.bench.memory(timing), TIMING),
          memoryBudget,
          'the in-memory figures in Chromium',
        ),
      );
      loadMs.chromium = await within(
        page.evaluate(() => window.bench.load()),
        60,
        'loadOpenSSL() timing in Chromium',
      );
      addSocket(
        'chromium',
        await within(
          page.evaluate(([u, timing]) => window.bench.sockets(u, timing), [urls, TIMING]),
          socketBudget,
          'the socket figures in Chromium',
        ),
      );
      log('Chromium: the cold first byte (bench/first-byte.mjs)');
      firstByte = await within(firstByteFigures(chromium.playwright, { runs: FIRST_BYTE_RUNS, log }), 1800, 'the first-byte figures');
    }

    const workerBudget = figureBudget * 2 * WORKER_CASES.length + 60;
    log('the TLS worker in Node');
    addSocket(
      'node',
      await within(
        workerFigures(createTlsWorker, urls, TIMING, STREAM_PATHS.node, ONLY_BULK ? [bulkCase] : WORKER_CASES),
        workerBudget,
        'the worker figures in Node',
      ),
    );
    for (const engine of ONLY_BULK ? ['chromium'] : ['chromium', 'firefox', 'webkit']) {
      log(`the TLS worker${engine === 'chromium' ? '' : ' and the page'} in ${engine}`);
      const browser = await within(launchBrowser(engine), 60, `starting ${engine}`);
      running.push(() => browser.close());
      const enginePage = await within(browser.newPage(), 60, `a page in ${engine}`);
      await within(enginePage.goto(`${web.url}/bench/page.html`), 60, `loading the benchmark page in ${engine}`);
      const ready = await enginePage.evaluate(async () => {
        for (let i = 0; i < 600 && document.title !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
        return document.title === 'ready';
      }, null);
      if (!ready) throw new Error(`the benchmark page did not load in ${engine}`);
      // Chromium's page figures are measured above (unless --only worker); the others' here.
      const list = await within(
        enginePage.evaluate(
          ([u, timing, streams, page, plain, only]) => window.bench.engine(u, timing, streams, page, plain, only),
          [urls, TIMING, STREAM_PATHS[engine], engine !== 'chromium' || PARTIAL, plainUrl, ONLY_BULK ? [bulkCase] : null],
        ),
        workerBudget * 2,
        `the worker figures in ${engine}`,
      );
      for (const f of list) {
        if (f.name.startsWith('plain ')) figures.push({ ...f, env: engine });
        else addSocket(engine, [f]);
      }
      await enginePage.close();
      await browser.close();
    }
    for (const f of figures.filter((x) => x.name.startsWith('worker ('))) {
      const inPage = figures.find((x) => x.env === f.env && x.name === f.name.replace(/^worker \([a-z]+\) /, ''));
      f.page = inPage?.value;
      f.overPage = ratio(f.value, inPage?.value);
    }
    // TLS bulk against the plain WebSocket's in the same environment: the bulk goal.
    for (const f of figures.filter((x) => x.name.includes(bulkCase))) {
      const plain = figures.find((x) => x.env === f.env && x.name.startsWith('plain WebSocket bulk'));
      f.plain = plain?.value;
      f.overPlain = ratio(f.value, plain?.value);
    }
  } finally {
    await stopAll();
  }

  const report = {
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, short: SHORT, seconds: TIMING.seconds },
    figures,
    sizes,
    loadMs,
    heapPerConnection: heap,
    ...(firstByte ? { firstByte } : {}),
  };
  report.targets = ONLY_WORKER ? [] : ONLY_BULK ? bulkTargets(report) : targets(report);
  print(report);
  if (option('--json')) writeFileSync(option('--json'), `${JSON.stringify(report, null, 2)}\n`);
}

/** The targets, checked against this run. */
function targets(report) {
  const find = (name, env) => report.figures.find((f) => f.name === name && f.env === env);
  const list = [];
  for (const f of report.figures.filter((x) => x.facadeOverRaw !== undefined)) {
    list.push({ name: `facade/raw ${f.name} (${f.env})`, value: f.facadeOverRaw, target: '>= 0.90', met: f.facadeOverRaw >= 0.9 });
  }
  const dhe = find('handshake tls13-psk_dhe_ke', 'chromium');
  list.push({ name: 'TLS 1.3 psk_dhe_ke / native asm (chromium)', value: dhe?.ratio, target: '>= 0.60', met: dhe?.ratio >= 0.6 });
  for (const env of ['node', 'chromium']) {
    const chacha = find('bulk TLS_CHACHA20_POLY1305_SHA256', env);
    list.push({ name: `ChaCha20-Poly1305 bulk / native no-asm (${env})`, value: chacha?.ratioNoAsm, target: '>= 0.85', met: chacha?.ratioNoAsm >= 0.85 });
  }
  list.push({ name: 'PSK build .wasm gzip -9 bytes', value: report.sizes.wasmGzip9, target: '<= 300000', met: report.sizes.wasmGzip9 <= 300_000 });
  list.push({
    name: 'loadOpenSSL() with a compiled module, ms (chromium)',
    value: report.loadMs.chromium?.cached,
    target: '<= 25',
    met: report.loadMs.chromium?.cached <= 25,
  });
  for (const side of ['client', 'server']) {
    const value = report.heapPerConnection[side];
    list.push({ name: `heap per idle ${side} connection, bytes`, value, target: '<= 49152', met: value <= 49152 });
  }
  list.push(...bulkTargets(report));
  if (report.firstByte) list.push(...firstByteTargets(report.firstByte));
  return list;
}

/** TLS ChaCha20 bulk through the stack >= 0.8x the plain WebSocket's, in each environment and path measured. */
function bulkTargets(report) {
  return report.figures
    .filter((f) => f.overPlain !== undefined && f.overPlain !== null)
    .map((f) => ({ name: `${f.name} / plain WebSocket (${f.env})`, value: f.overPlain, target: '>= 0.80', met: f.overPlain >= 0.8 }));
}

/** The variant each first-byte target is about, as the target line names it. */
const FIRST_BYTE_TARGET_NAMES = {
  tls: 'tls (connectTls to s_server)',
  preload: 'preload (tls with the preload recipe)',
  early: 'early (0-RTT to acceptTls, 0.5-RTT answer)',
};

/** Cold first byte against the plain page's, and warm against a plain WebSocket (each in its own page). */
function firstByteTargets(fb) {
  const list = [];
  const over = (env, variant) => fb[env].variants[variant].firstByte.median / fb[env].variants.plain.firstByte.median;
  for (const [env, limit] of [
    ['loopback', 1.5],
    ['emulated', 2.0],
    ['remote', null], // the warm targets only: the issue sets no cold one for a distant server
  ]) {
    if (!fb[env]) continue;
    for (const variant of ['tls', 'preload', 'early']) {
      if (!fb[env].variants[variant] || limit === null) continue;
      const value = over(env, variant);
      list.push({
        name: `cold first byte, ${FIRST_BYTE_TARGET_NAMES[variant]} / plain page (chromium, ${env})`,
        value,
        target: `<= ${limit.toFixed(2)}`,
        met: value <= limit,
      });
    }
    const { warm } = fb[env];
    for (const [kind, plain] of [
      ['tls', 'plain'],
      ['early', 'earlyPlain'],
    ]) {
      if (!warm[kind]) continue;
      const value = warm[kind].median / warm[plain].median;
      list.push({
        name: `warm first byte (module loaded), ${FIRST_BYTE_TARGET_NAMES[kind]} / plain WebSocket (chromium, ${env})`,
        value,
        target: '<= 1.10',
        met: value <= 1.1,
      });
    }
  }
  return list;
}

const fmt = (n) => (n === null || n === undefined ? '-' : n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(2));

function print(report) {
  const rows = [
    [
      'figure',
      'env',
      'unit',
      'value',
      'native',
      'ratio',
      'raw wasm',
      'facade/raw',
      'no-asm',
      'ratio no-asm',
      'read()',
      'in page',
      'worker/page',
      'plain WS',
      'TLS/plain',
    ],
  ];
  for (const f of report.figures) {
    rows.push([
      f.name,
      f.env,
      f.unit,
      fmt(f.value),
      fmt(f.native),
      fmt(f.ratio),
      fmt(f.raw),
      fmt(f.facadeOverRaw),
      fmt(f.nativeNoAsm),
      fmt(f.ratioNoAsm),
      fmt(f.valueAllocating),
      fmt(f.page),
      fmt(f.overPage),
      fmt(f.plain),
      fmt(f.overPlain),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  const { sizes, loadMs, heapPerConnection: heap } = report;
  const sizeLine = (what, s) =>
    `${what} .wasm ${s.wasm.toLocaleString('en')} B (gzip -9 ${s.wasmGzip9.toLocaleString('en')} B); glue ${s.glue.toLocaleString('en')} B (gzip -9 ${s.glueGzip9.toLocaleString('en')} B)`;
  console.log(`\n${sizeLine('PSK build  (openssl-psk-wasm)     ', sizes)}\n${sizeLine('full build (openssl-psk-wasm/full)', sizes.full)}`);
  if (report.firstByte) console.log(`\n${firstByteLines(report.firstByte).join('\n')}\n`);
  for (const [env, t] of Object.entries(loadMs)) console.log(`loadOpenSSL() ${env}: cold ${t.cold.toFixed(1)} ms, compiled module ${t.cached.toFixed(1)} ms`);
  if (heap?.connections)
    console.log(
      `heap per idle connection (${heap.connections} open): client ${Math.round(heap.client).toLocaleString('en')} B, server ${Math.round(heap.server).toLocaleString('en')} B`,
    );
  console.log('\ntargets:');
  for (const t of report.targets) console.log(`  ${t.met ? 'met ' : 'MISS'}  ${t.name}: ${fmt(t.value)} (${t.target})`);
  console.log(
    `\nmachine: ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}${report.machine.short ? ' (--short: figures are not meaningful)' : ''}`,
  );
}

await main();
