// The cold first byte (npm run bench; alone: --only first-byte): from navigation start to the
// first byte of an echo, in Chromium with a cold cache (a fresh browser context per run, every
// asset gzip-compressed by the static server), on loopback and under Chromium's network
// emulation (40 ms RTT, 20 Mbit/s both ways). Variants (bench/first-byte-page.mjs):
//   plain       the floor: the same page (same HTML, same bundle) with a plain WebSocket echo
//               through the same bridge to a TCP echo server
//   tls         connectTls through the bridge to openssl s_server -rev (TLS 1.3 PSK)
//   sequential  as tls, with the module loaded before the WebSocket opens (before the overlap)
//   preload     as tls, in a page with the README's <link rel="preload"> recipe
//   accept      connectTls to an acceptTls echo server; early: the same with 0-RTT early data,
//               which the server (halfRttData) answers as 0.5-RTT data, before the client's
//               Finished (the accept variant sends no early data: the option changes nothing there)
// Environments: loopback; emulated (Chromium's network emulation, which delays the
// WebSocket's opening request but not its messages); remote (loopback for the browser, but
// the bridge reaches every server through a TCP proxy that delays each chunk REMOTE_DELAY ms
// each way: the round trips a WebSocket's messages make to a distant server).
// Runs alternate between the variants (the machine is shared: noise hits all alike); each
// figure is the median of `runs`, with the lowest and highest. Warm: in the tls page and in the
// early page, once the first echo is done, more echoes of the page's kind and plain echoes
// alternate (the module is loaded then).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createTcpServer, connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../lib/node/bridge.js';
import { serveStatic } from '../examples/static-server.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const KEY_HEX = '5c'.repeat(32);
const IDENTITY = 'bench';
export const FIRST_BYTE_VARIANTS = ['plain', 'tls', 'sequential', 'preload', 'accept', 'early'];
/** Chromium's emulation: latency is added to each request (about one round trip); throughput in bytes/s. */
export const EMULATION = { offline: false, latency: 40, downloadThroughput: 20e6 / 8, uploadThroughput: 20e6 / 8 };
const WARM_ROUNDS = 5;
/** remote: the delay added to each chunk, each way, between the bridge and the servers (a 40 ms round trip). */
export const REMOTE_DELAY = 20;
/** The pages that go on with warm echoes of their own kind, alternating with plain ones. */
const WARM_VARIANTS = ['tls', 'accept', 'early'];

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

/** openssl s_server -rev, TLS 1.3 with the benchmark's PSK: answers each line reversed. */
async function reverseServer() {
  const probe = createTcpServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-nocert', '-quiet', '-tls1_3', '-psk', KEY_HEX, '-psk_identity', IDENTITY, '-rev'],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  const exited = once(child, 'exit');
  for (let attempt = 0; ; attempt++) {
    const ok = await new Promise((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    if (attempt === 100) throw (child.kill(), new Error('openssl s_server did not start'));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop: () => (child.kill(), exited) };
}

/**
 * An acceptTls echo server allowing 0-RTT early data and answering it as 0.5-RTT data
 * (halfRttData; s_server cannot echo early data: -early_data excludes -rev), in a process of
 * its own (bench/accept-echo.mjs), as s_server is: not on the bridge's thread.
 */
async function acceptTlsEcho() {
  const child = spawn(process.execPath, [here('accept-echo.mjs'), KEY_HEX, IDENTITY], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  let output = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    exited.then(() => reject(new Error(`the acceptTls echo server exited: ${output}`)));
  });
  return { port, stop: () => (child.kill(), exited) };
}

/**
 * A TCP proxy to `target` that forwards each chunk `delay` ms late, both ways (in order: one
 * delay for all), and an end likewise: a network between the bridge and a server. Its own
 * accept is immediate, so only data pays the delay, not the connection's set-up.
 */
async function delayProxy(target, delay) {
  const sockets = new Set();
  const server = createTcpServer((inbound) => {
    const outbound = netConnect(target, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
    }
    const forward = (from, to) => {
      from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), delay));
      from.on('end', () => setTimeout(() => to.end(), delay));
      from.on('error', () => to.destroy());
    };
    forward(inbound, outbound);
    forward(outbound, inbound);
  });
  const port = await listen(server);
  return { port, stop: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(resolve))) };
}

async function tcpEcho() {
  const sockets = new Set();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  const port = await listen(server);
  return { port, stop: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(resolve))) };
}

/** The page for a variant: the same HTML for all, but the preload recipe's <link>s in one. */
function pageHtml(variant, wasmUrl) {
  const recipe =
    variant === 'preload'
      ? `<link rel="modulepreload" href="/dist/browser/openssl-psk-wasm.js">\n<link rel="preload" href="${wasmUrl}" as="fetch" type="application/wasm" crossorigin>\n`
      : '';
  return `<!doctype html>\n<meta charset="utf-8">\n<title>first byte</title>\n${recipe}<script type="module" src="/bench/first-byte-page.mjs"></script>\n`;
}

const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
const spread = (list) => ({ median: median(list), low: Math.min(...list), high: Math.max(...list), runs: list.length });

/**
 * The figures: { loopback: {…}, emulated: {…} }, each { variants: { name: { firstByte, steps } },
 * warm: { tls, plain } }, with every time as { median, low, high, runs } in ms; and the module's
 * URL and sizes as the page fetched it (resource timing), and how often the preload page fetched it.
 * warm: { tls, plain } from the tls page (connectTls to s_server, alternating with plain echoes),
 * and { early, earlyPlain } from the early page (0-RTT to the acceptTls echo, answered at 0.5-RTT).
 */
export async function firstByteFigures(chromium, { runs = 7, variants = FIRST_BYTE_VARIANTS, log = () => {} } = {}) {
  const running = [];
  const fetches = new Map(); // path → count, per run
  try {
    const openssl = await reverseServer();
    running.push(openssl.stop);
    const accept = await acceptTlsEcho();
    running.push(accept.stop);
    const echo = await tcpEcho();
    running.push(echo.stop);
    const far = await Promise.all([openssl, accept, echo].map((s) => delayProxy(s.port, REMOTE_DELAY)));
    running.push(...far.map((proxy) => proxy.stop));
    const bridge = await startBridge({ allow: [openssl, accept, echo, ...far].map((s) => `127.0.0.1:${s.port}`), maxConnections: 256 });
    running.push(() => bridge.close());
    const urls = ([o, a, e]) => ({
      identity: IDENTITY,
      keyHex: KEY_HEX,
      opensslUrl: `${bridge.url}/127.0.0.1:${o.port}`,
      acceptUrl: `${bridge.url}/127.0.0.1:${a.port}`,
      plainUrl: `${bridge.url}/127.0.0.1:${e.port}`,
    });
    const near = urls([openssl, accept, echo]);
    const remote = urls(far);
    let wasmUrl = null;
    const routes = Object.fromEntries(
      FIRST_BYTE_VARIANTS.map((v) => [
        `/first-byte/${v}.html`,
        (req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(pageHtml(v, wasmUrl)),
      ]),
    );
    const web = await serveStatic({ mounts: { '/': here('..') }, routes, onRequest: (path) => fetches.set(path, (fetches.get(path) ?? 0) + 1) });
    running.push(() => web.close());

    const load = async (variant, emulate, warm = 0, config = near) => {
      fetches.clear();
      const context = await chromium.newContext();
      try {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        if (emulate) await cdp.send('Network.emulateNetworkConditions', EMULATION);
        const query = new URLSearchParams({ variant, warm: String(warm), config: JSON.stringify(config) });
        await page.goto(`${web.url}/first-byte/${variant}.html?${query}`, { timeout: 60_000 });
        await page.waitForFunction(() => window.result, null, { timeout: 60_000 });
        const result = await page.evaluate(() => window.result);
        if (result.error) throw new Error(`first byte, ${variant}: ${result.error}`);
        const wasm = result.resources.filter((r) => r.name.endsWith('.wasm'));
        const path = wasm[0] ? new URL(wasm[0].name).pathname : null;
        return { ...result, wasm: wasm[0] ?? null, wasmFetches: path ? (fetches.get(path) ?? 0) : 0 };
      } finally {
        await context.close();
      }
    };

    // The module's URL, as the library finds it: from a page that loads it (not measured).
    const probe = await load('tls', false);
    if (!probe.wasm) throw new Error('the tls page fetched no .wasm');
    wasmUrl = new URL(probe.wasm.name).pathname;
    const module = {
      url: wasmUrl,
      transferSize: probe.wasm.transferSize,
      encodedBodySize: probe.wasm.encodedBodySize,
      decodedBodySize: probe.wasm.decodedBodySize,
    };

    const report = { module, runs, emulation: EMULATION, remoteDelay: REMOTE_DELAY, preloadFetches: [] };
    for (const [env, emulate, config] of [
      ['loopback', false, near],
      ['emulated', true, near],
      ['remote', false, remote],
    ]) {
      log(`first byte, cold, ${env}: ${variants.join(', ')}; ${runs} runs each, alternating`);
      const samples = Object.fromEntries(variants.map((v) => [v, []]));
      const warm = { tls: [], plain: [], accept: [], acceptPlain: [], early: [], earlyPlain: [] };
      const warmSteps = { tls: [], plain: [], accept: [], acceptPlain: [], early: [], earlyPlain: [] };
      for (let i = 0; i < runs; i++) {
        for (const variant of variants) {
          const r = await load(variant, emulate, WARM_VARIANTS.includes(variant) ? WARM_ROUNDS : 0, config);
          samples[variant].push(r);
          if (variant === 'preload') report.preloadFetches.push(r.wasmFetches);
          if (variant !== 'plain' && r.wasmFetches !== 1) throw new Error(`${variant}: the .wasm was fetched ${r.wasmFetches} times in one page load`);
          if (variant === 'early' && !r.first.earlyDataAccepted) throw new Error('early: the server did not accept the early data');
          if (WARM_VARIANTS.includes(variant)) {
            const plain = variant === 'tls' ? 'plain' : `${variant}Plain`;
            warm[variant].push(...r.warm.tls);
            warm[plain].push(...r.warm.plain);
            warmSteps[variant].push(...r.warm.tlsSteps);
            warmSteps[plain].push(...r.warm.plainSteps);
          }
        }
      }
      const figures = {};
      for (const [variant, list] of Object.entries(samples)) {
        const of = (fn) => spread(list.map(fn).filter((x) => Number.isFinite(x)));
        const steps =
          variant === 'plain'
            ? {
                'script runs': of((r) => r.marks.scriptRun),
                'WebSocket open': of((r) => r.marks.wsOpen - r.marks.wsStart),
                echo: of((r) => r.first.firstByte - r.first.open),
              }
            : {
                'script runs': of((r) => r.marks.scriptRun),
                'fetch (.wasm start to end)': of((r) => r.wasm.responseEnd - r.wasm.startTime),
                'compile (call to done)': of((r) => r.marks.compileEnd - r.marks.compileStart),
                instantiate: of((r) => r.marks.instantiateEnd - r.marks.instantiateStart),
                'WebSocket open': of((r) => r.marks.wsOpen - r.marks.wsStart),
                'module ready after WebSocket open': of((r) => r.marks.instantiateEnd - r.marks.wsOpen),
                'handshake (from both ready)': of((r) => r.first.handshake - Math.max(r.marks.wsOpen, r.marks.instantiateEnd)),
                'first record (write to first byte)': of((r) => r.first.firstByte - r.first.handshake),
              };
        figures[variant] = { firstByte: of((r) => r.first.firstByte), steps };
      }
      const stepsOf = (list) =>
        Object.fromEntries(Object.keys(list[0] ?? {}).map((step) => [step, spread(list.map((s) => s[step]).filter((x) => Number.isFinite(x)))]));
      const warmBreakdown = Object.fromEntries(
        Object.entries(warmSteps)
          .filter(([, list]) => list.length > 0)
          .map(([k, list]) => [k, stepsOf(list)]),
      );
      report[env] = {
        variants: figures,
        warmSteps: warmBreakdown,
        warm: Object.fromEntries(
          Object.entries(warm)
            .filter(([, list]) => list.length > 0)
            .map(([k, list]) => [k, spread(list)]),
        ),
      };
    }
    return report;
  } finally {
    while (running.length)
      await running
        .pop()()
        .catch(() => {});
  }
}

const fmt = (s) => (s ? `${s.median.toFixed(1)} (${s.low.toFixed(1)}-${s.high.toFixed(1)})` : '-');

/** Lines of text for the figures. */
export function firstByteLines(report) {
  const lines = [
    `cold first byte, ms from navigation start: median (lowest-highest) of ${report.runs} runs; module ${report.module.url}, ${report.module.encodedBodySize.toLocaleString('en')} B sent (gzip), ${report.module.decodedBodySize.toLocaleString('en')} B`,
  ];
  const about = {
    loopback: '',
    emulated: ` (${report.emulation.latency} ms RTT, ${(report.emulation.downloadThroughput * 8) / 1e6} Mbit/s: the WebSocket's opening, not its messages)`,
    remote: ` (loopback, but the servers ${2 * report.remoteDelay} ms of round trip from the bridge)`,
  };
  for (const env of ['loopback', 'emulated', 'remote'].filter((e) => report[e])) {
    const { variants, warm } = report[env];
    const plain = variants.plain?.firstByte.median;
    lines.push(`  ${env}${about[env]}:`);
    for (const [name, f] of Object.entries(variants)) {
      lines.push(`    ${name.padEnd(11)} ${fmt(f.firstByte)}${plain && name !== 'plain' ? `  ${(f.firstByte.median / plain).toFixed(2)}x plain` : ''}`);
      for (const [step, s] of Object.entries(f.steps)) lines.push(`      ${step.padEnd(36)} ${fmt(s)}`);
    }
    if (warm.tls)
      lines.push(
        `    warm (second connection on), tls page: tls ${fmt(warm.tls)}, plain ${fmt(warm.plain)}, ${(warm.tls.median / warm.plain.median).toFixed(2)}x`,
      );
    for (const [kind, steps] of Object.entries(report[env].warmSteps ?? {})) {
      lines.push(
        `      warm ${kind}: ${Object.entries(steps)
          .map(([step, s]) => `${step} ${fmt(s)}`)
          .join('; ')}`,
      );
    }
    if (warm.accept) {
      lines.push(
        `    warm (second connection on), accept page: accept (acceptTls, no early data) ${fmt(warm.accept)}, plain ${fmt(warm.acceptPlain)}, ${(warm.accept.median / warm.acceptPlain.median).toFixed(2)}x`,
      );
    }
    if (warm.early) {
      lines.push(
        `    warm (second connection on), early page: early (0-RTT, 0.5-RTT answer) ${fmt(warm.early)}, plain ${fmt(warm.earlyPlain)}, ${(warm.early.median / warm.earlyPlain.median).toFixed(2)}x`,
      );
    }
    if (warm.early && warm.accept)
      lines.push(`    warm early ÷ warm accept (the 0-RTT + 0.5-RTT lever, same server): ${(warm.early.median / warm.accept.median).toFixed(2)}`);
  }
  return lines;
}
