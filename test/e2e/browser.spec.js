// The end-to-end table from a web page in Chromium: the library bundle (dist/browser) loaded
// by a page, connectTls() over the browser's WebSocket, through our bridge or websockify, to
// real TLS-PSK servers; and two pages talking through a dumb relay that must see no plaintext.
import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../../examples/static-server.mjs';
import { nodeTlsFloodServer, stopPeers } from '../helpers/peers.js';
import { startBridge } from '../../lib/node/bridge.js';
import { startRelay } from '../helpers/relay.js';
import { SCENARIOS, checkOutcome, startScenario } from './scenarios.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
let web;

test.beforeAll(async () => {
  web = await serveStatic({ mounts: { '/lib/': here('../../dist/browser/'), '/e2e/': here('./') } });
});
test.afterAll(async () => {
  await web?.close();
  await stopPeers();
});

/** Runs client-run.js's runClient in the page with the bundled library. */
function runInPage(page, args) {
  return page.evaluate(async (args) => {
    const lib = await import('/lib/openssl-psk-wasm.js');
    const { runClient } = await import('/e2e/client-run.js');
    return runClient(lib, args);
  }, args);
}

for (const scenario of SCENARIOS) {
  test(`page: ${scenario.name}`, async ({ page }) => {
    const setup = await startScenario(scenario);
    try {
      await page.goto(`${web.url}/e2e/page.html`);
      const result = await runInPage(page, setup.client);
      await checkOutcome(scenario, result, setup.server);
    } finally {
      await setup.stop();
    }
  });
}

test('page to page through a relay: acceptTls in one, connectTls in the other; the relay sees no plaintext', async ({ browser }) => {
  const relay = await startRelay();
  const psk = { identity: 'page-to-page', keyHex: '6b'.repeat(32) };
  const url = `${relay.url}/room-1`;
  const serverPage = await browser.newPage();
  const clientPage = await browser.newPage();
  try {
    await serverPage.goto(`${web.url}/e2e/page.html`);
    await clientPage.goto(`${web.url}/e2e/page.html`);
    const serving = serverPage.evaluate(async ({ url, psk }) => {
      const lib = await import('/lib/openssl-psk-wasm.js');
      const { runEchoServer } = await import('/e2e/server-run.js');
      return runEchoServer(lib, { socket: new WebSocket(url), psk });
    }, { url, psk });
    const marker = 'PLAINTEXT-MARKER-';
    const result = await runInPage(clientPage, { url, psk, payload: { kind: 'text', text: `${marker}${'x'.repeat(5000)}\n` } });
    expect(result.error).toBeUndefined();
    expect(result.mismatchAt).toBe(-1);
    expect(result.info.protocol).toBe('TLSv1.3');
    expect(await serving).toBe(result.sent);
    const seen = relay.forwarded();
    expect(seen.length).toBeGreaterThan(2 * result.sent);
    expect(seen.includes(Buffer.from(marker))).toBe(false);
    expect(seen.includes(Buffer.from('xxxxxxxxxxxxxxxx'))).toBe(false);
  } finally {
    await serverPage.close();
    await clientPage.close();
    await relay.close();
  }
});

test('a page that does not read: unread data is capped (maxBufferedBytes), then ERR_BUFFER_FULL, never unbounded', async ({ page }) => {
  const keyHex = '5e'.repeat(32);
  const flood = await nodeTlsFloodServer({ key: Buffer.from(keyHex, 'hex'), bytes: 16 << 20 });
  const bridge = await startBridge({ allow: [`127.0.0.1:${flood.port}`] });
  try {
    await page.goto(`${web.url}/e2e/page.html`);
    const outcome = await page.evaluate(async ({ url, keyHex }) => {
      const lib = await import('/lib/openssl-psk-wasm.js');
      const key = Uint8Array.from(keyHex.match(/../g), (b) => parseInt(b, 16));
      const socket = lib.connectTls(url, { psk: { identity: 'flood', key }, maxBufferedBytes: 4 << 20 });
      await socket.opened;
      await new Promise((r) => setTimeout(r, 1500)); // the browser WebSocket cannot be paused
      let read = 0;
      try {
        for await (const chunk of socket.readable) read += chunk.length;
        return { read };
      } catch (error) {
        return { read, code: error.code, message: error.message };
      }
    }, { url: `${bridge.url}/127.0.0.1:${flood.port}`, keyHex });
    expect(outcome.code).toBe('ERR_BUFFER_FULL');
    expect(outcome.read).toBeLessThan(16 << 20);
  } finally {
    await bridge.close();
    await flood.stop();
  }
});

test('the example pages (examples/browser, examples/worker) connect and echo through the bridge (npm start --once)', async ({ page }) => {
  const { spawn } = await import('node:child_process');
  const demo = spawn(process.execPath, ['examples/browser-demo.mjs', '--once'], { cwd: here('../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  demo.stdout.on('data', (d) => (output += d));
  demo.stderr.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => demo.on('exit', resolve));
  expect(output).toContain('echo: "hello from headless Chromium"');
  expect(output).toContain('echo: "hello from headless Chromium (worker)"');
  expect(code).toBe(0);
  void page;
});
