// The TLS worker in Chromium: a page whose Content-Security-Policy forbids WebAssembly runs
// PSK TLS through a Web Worker whose own policy allows it ('wasm-unsafe-eval' only there).
// The same sessions as test/worker.test.js runs on worker_threads (test/e2e/worker-run.js).
import { expect, test } from '@playwright/test';
import { webcrypto } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../../examples/static-server.mjs';
import { pskArgs, stopPeers } from '../helpers/peers.js';
import { pbkdf2, serverBehindBridge } from '../helpers/setups.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self' ws://127.0.0.1:*";
const WORKER_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws://127.0.0.1:*";
let web;

test.beforeAll(async () => {
  web = await serveStatic({
    // /strict/ serves the same bundle, but its worker gets the page's policy: no WebAssembly.
    mounts: { '/lib/': here('../../dist/browser/'), '/strict/': here('../../dist/browser/'), '/e2e/': here('./') },
    headers: (path) => ({ 'content-security-policy': path === '/lib/tls-worker.js' ? WORKER_CSP : PAGE_CSP }),
  });
});
test.afterAll(async () => {
  await web?.close();
  await stopPeers();
});


/** Runs one of worker-run.js's functions in the page, with the bundled createTlsWorker. */
function inPage(page, name, args) {
  return page.evaluate(
    async ({ name, args }) => {
      const { createTlsWorker } = await import('/lib/worker.js');
      const run = await import('/e2e/worker-run.js');
      return run[name](createTlsWorker, args);
    },
    { name, args },
  );
}

test('the page itself may not compile WebAssembly (its CSP has no wasm-unsafe-eval)', async ({ page }) => {
  await page.goto(`${web.url}/e2e/worker-page.html`);
  const outcome = await page.evaluate(async () => {
    const bytes = await (await fetch('/lib/openssl-psk.wasm')).arrayBuffer();
    return WebAssembly.compile(bytes).then(() => 'compiled', (e) => `${e.name}: ${e.message}`);
  });
  expect(outcome).toMatch(/CompileError.*(wasm-eval|Content Security Policy|unsafe-eval)/i);
});

test('a worker whose own policy forbids WebAssembly fails with a typed ERR_WASM_LOAD', async ({ page }) => {
  await page.goto(`${web.url}/e2e/worker-page.html`);
  const outcome = await page.evaluate(async () => {
    const { createTlsWorker } = await import('/strict/worker.js');
    const worker = await createTlsWorker();
    try {
      await worker.importPsk('x', new ArrayBuffer(32));
      return 'imported';
    } catch (error) {
      return error.code;
    } finally {
      worker.terminate();
    }
  });
  expect(outcome).toBe('ERR_WASM_LOAD');
});

for (const [name, args, options] of [
  ['TLS 1.3', ['-tls1_3'], {}],
  ['TLS 1.2', ['-tls1_2', '-cipher', 'ECDHE-PSK-CHACHA20-POLY1305'], { maxVersion: 'TLSv1.2' }],
]) {
  test(`${name} PSK session from a worker to openssl s_server; the key never reaches the page`, async ({ page }) => {
    const key = random(32);
    const peer = await serverBehindBridge([...args, ...pskArgs('web-1', key)]);
    try {
      await page.goto(`${web.url}/e2e/worker-page.html`);
      const r = await inPage(page, 'workerSession', { url: peer.url, identity: 'web-1', keyHex: hex(key), options });
      expect(r.error).toBeUndefined();
      expect(r.detached).toBe(true);
      expect(r.info.protocol).toBe(name === 'TLS 1.3' ? 'TLSv1.3' : 'TLSv1.2');
      expect(r.echoOk).toBe(true);
      expect(r.keyInMemoryDuring).toBe(true);
      expect(r.keyInMemoryAfterDelete).toBe(false);
      expect(r.messages).toBeGreaterThan(0);
      expect(r.keyInMessages).toBe(false);
    } finally {
      await peer.stop();
    }
  });
}

for (const how of ['terminate', 'crash']) {
  test(`two workers with different keys at once; one ${how === 'crash' ? 'crashes' : 'is terminated'}, the other's session goes on`, async ({ page }) => {
    const keyA = random(32);
    const keyB = random(32);
    const peerA = await serverBehindBridge(['-tls1_3', ...pskArgs('a', keyA)]);
    const peerB = await serverBehindBridge(['-tls1_3', ...pskArgs('b', keyB)]);
    try {
      await page.goto(`${web.url}/e2e/worker-page.html`);
      const r = await inPage(page, 'twoWorkers', {
        a: { url: peerA.url, identity: 'a', keyHex: hex(keyA) },
        b: { url: peerB.url, identity: 'b', keyHex: hex(keyB) },
        how,
      });
      expect(r.firstBefore).toBe('tsrif\n');
      expect(r.firstAfter.code).toBe('ERR_WORKER_GONE');
      expect(r.firstClosed.code).toBe('ERR_WORKER_GONE');
      expect(r.secondAfter).toBe('dnoces\n');
      expect(r.newWorker).toBe('driht\n');
    } finally {
      await peerA.stop();
      await peerB.stop();
    }
  });
}

test('a PSK derived from a passphrase in the worker (PBKDF2 in WebCrypto)', async ({ page }) => {
  const salt = random(16);
  const key = await pbkdf2('a passphrase', salt, 10000);
  const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('pass', key)]);
  try {
    await page.goto(`${web.url}/e2e/worker-page.html`);
    const r = await inPage(page, 'passphraseSession', { url: peer.url, identity: 'pass', passphrase: 'a passphrase', saltHex: hex(salt), iterations: 10000 });
    expect(r.error).toBeUndefined();
    expect(r.echoed).toBe('devired\n');
  } finally {
    await peer.stop();
  }
});
