#!/usr/bin/env node
// node bench/profile-bulk.mjs [seconds]: where the time of ChaCha20 bulk through the stack
// goes, in Chromium. A page writes 16 KiB chunks with connectTls through the bridge to
// openssl s_server (a sink in its own process, so this process only runs the bridge), under
// Chromium's sampling profiler (CDP Profiler), then a plain WebSocket does the same to a TCP
// sink; prints each run's MB/s and the functions with the most self time, grouped by script.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../lib/node/bridge.js';
import { launchBrowser } from '../examples/browsers.mjs';
import { serveStatic } from '../examples/static-server.mjs';

const seconds = Number(process.argv[2] ?? 3);
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const KEY_HEX = '5c'.repeat(32);

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

const stops = [];
try {
  const probe = createServer();
  const port = await listen(probe);
  probe.close();
  const child = spawn(
    'openssl',
    [
      's_server',
      '-accept',
      `127.0.0.1:${port}`,
      '-nocert',
      '-quiet',
      '-tls1_3',
      '-ciphersuites',
      'TLS_CHACHA20_POLY1305_SHA256',
      '-psk',
      KEY_HEX,
      '-psk_identity',
      'bench',
    ],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  stops.push(() => child.kill());
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = netConnect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const sink = createServer((s) => {
    s.on('error', () => {});
    s.on('data', (chunk) => chunk.includes(0) && s.write(Buffer.from([1])));
  });
  const sinkPort = await listen(sink);
  stops.push(() => sink.close());
  const bridge = await startBridge({ allow: [`127.0.0.1:${port}`, `127.0.0.1:${sinkPort}`] });
  stops.push(() => bridge.close());
  const web = await serveStatic({ mounts: { '/': here('..') } });
  stops.push(() => web.close());
  const browser = await launchBrowser('chromium');
  stops.push(() => browser.close());
  const page = await browser.playwright.newPage();
  await page.goto(`${web.url}/bench/page.html`);
  await page.waitForFunction(() => document.title === 'ready');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });

  const tlsUrl = `${bridge.url}/127.0.0.1:${port}`;
  const plainUrl = `${bridge.url}/127.0.0.1:${sinkPort}`;
  const runs = {
    'TLS (connectTls, ChaCha20) to s_server': () =>
      page.evaluate(
        async ([url, seconds]) => {
          const api = await import('/dist/browser/openssl-psk-wasm.js');
          const { socketBulk } = await import('/bench/scenarios.mjs');
          const key = new Uint8Array(32).fill(0x5c);
          // Warm up, then the measured run
          const options = { psk: { identity: 'bench', key }, ciphersuites: ['TLS_CHACHA20_POLY1305_SHA256'] };
          const connect = (target) => api.connectTls(target, options);
          const fake = { connectTls: (target) => connect(target) };
          await socketBulk(fake, () => url, undefined, 0.3);
          return socketBulk(fake, () => url, undefined, seconds);
        },
        [tlsUrl, seconds],
      ),
    'plain WebSocket to a TCP sink': () =>
      page.evaluate(
        async ([url, seconds]) => {
          const { plainBulk } = await import('/bench/scenarios.mjs');
          await plainBulk(WebSocket, url, 0.3);
          return plainBulk(WebSocket, url, seconds);
        },
        [plainUrl, seconds],
      ),
  };
  for (const [name, run] of Object.entries(runs)) {
    await cdp.send('Profiler.start');
    const bytesPerSecond = await run();
    const { profile } = await cdp.send('Profiler.stop');
    console.log(`\n${name}: ${(bytesPerSecond / 1e6).toFixed(1)} MB/s`);
    report(profile);
  }
} finally {
  while (stops.length) await Promise.resolve(stops.pop()()).catch(() => {});
}

/** Self time per function (top 25) and per script, from a CDP CPU profile. */
function report(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const total = profile.samples.length;
  for (const id of profile.samples) {
    const { callFrame } = byId.get(id);
    const script = callFrame.url ? callFrame.url.replace(/^.*\//, '') : '(native)';
    const key = `${callFrame.functionName || '(anonymous)'} ${script}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const byScript = new Map();
  for (const [key, n] of self) {
    const script = key.split(' ').at(-1).replace(/:\d+$/, '');
    byScript.set(script, (byScript.get(script) ?? 0) + n);
  }
  const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
  console.log(
    '  by script:',
    [...byScript]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([s, n]) => `${s} ${pct(n).trim()}`)
      .join(', '),
  );
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(n)}  ${key}`);
}
