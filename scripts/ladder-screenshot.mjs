#!/usr/bin/env node
// Draws README's ladder diagram (docs/ladder-hrr.png): a page in headless Chromium connects with
// traceHandshake through the bridge to `openssl s_server` that wants P-256 while the client
// offers X25519 first (a HelloRetryRequest), draws examples/browser/ladder.js's diagram, and
// screenshots it. Run after the set-up: `node scripts/ladder-screenshot.mjs`.
import { spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../examples/browsers.mjs';
import { serveStatic } from '../examples/static-server.mjs';
import { startBridge } from '../lib/node/bridge.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const key = Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString('hex');
const probe = createServer().listen(0, '127.0.0.1');
await once(probe, 'listening');
const port = probe.address().port;
await new Promise((resolve) => probe.close(resolve));
const server = spawn(
  'openssl',
  ['s_server', '-nocert', '-tls1_3', '-groups', 'P-256', '-psk_identity', 'device-1', '-psk', key, '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-rev'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
for (let out = ''; !out.includes('ACCEPT'); out += (await once(server.stdout, 'data'))[0]);
const bridge = await startBridge({ allow: [`127.0.0.1:${port}`] });
const web = await serveStatic({ mounts: { '/': here('../examples/browser/'), '/lib/': here('../dist/browser/') } });
const browser = await launchBrowser('chromium');
try {
  const page = await browser.newPage();
  await page.goto(`${web.url}/page.css`);
  await page.playwright.setContent('<link rel="stylesheet" href="/page.css"><div id="ladder" style="display:inline-block;padding:8px"></div>');
  await page.evaluate(
    async ({ url, key }) => {
      const { connectTls } = await import('/lib/openssl-psk-wasm.js');
      const { drawLadder } = await import('/ladder.js');
      const socket = connectTls(url, {
        psk: { identity: 'device-1', key: Uint8Array.from(key.match(/../g), (b) => parseInt(b, 16)) },
        groups: 'X25519:P-256',
        traceHandshake: true,
      });
      const info = await socket.opened;
      await socket.close();
      drawLadder(document.getElementById('ladder'), { steps: info.handshake, info, identity: 'device-1', title: 'openssl s_server -groups P-256' });
    },
    { url: `${bridge.url}/127.0.0.1:${port}`, key },
  );
  await page.playwright.locator('#ladder').screenshot({ path: here('../docs/ladder-hrr.png') });
  console.log('docs/ladder-hrr.png');
} finally {
  await browser.close();
  await bridge.close();
  await web.close();
  server.kill();
}
