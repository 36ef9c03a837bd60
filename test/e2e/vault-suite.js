// The key vault (createTlsWorker({ vault })) in each engine, with the page and the vault on two
// loopback origins (127.0.0.1 on two ports), plus a cross-site page (localhost) for storage
// partitioning. The vault is the shipped dist/browser/vault.html with only its configuration
// changed; the IndexedDB failures come from the test vault worker (dist/test/vault-worker-debug.js).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { serveStatic } from '../../examples/static-server.mjs';
import { configuredVault, startVaultDemo } from '../../examples/vault/vault-demo.mjs';
import { startBridge } from '../../lib/node/bridge.js';
import { nodeTlsEchoServer } from '../helpers/peers.js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));

/** The shipped vault.html with `config` in place of its configuration. */
function vaultPage(config) {
  const html = configuredVault(config);
  assert.notEqual(html, readFileSync(here('../../dist/browser/vault.html'), 'utf8'));
  return (req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
}

/** `run` is the name of a vault-run.js function, run in `page` with the bundle's createTlsWorker. */
const inPage = (page, run, args) =>
  page.evaluate(
    async ({ run, args }) => {
      const { createTlsWorker } = await import('/lib/worker.js');
      const runs = await import('/e2e/vault-run.js');
      return runs[run](createTlsWorker, args);
    },
    { run, args },
  );

export function vaultTests(engine, browserOf) {
  describe(`${engine}: a key vault on its own origin`, () => {
    let pages; // the application's pages: http://127.0.0.1:P1 (and http://localhost:P1, another site)
    let stranger; // another page origin, listed but sharing nothing, and one not listed at all
    let vaultHost; // the vault: http://127.0.0.1:P2
    let echo;
    let bridge; // allows the vault's Origin only
    let pageOnlyBridge; // allows the page's Origin only
    const key = random(32);
    const identity = 'vault-dev';

    before(async () => {
      const mounts = { '/lib/': here('../../dist/browser/'), '/e2e/': here('./') };
      pages = await serveStatic({ mounts });
      stranger = await serveStatic({ mounts });
      const port = new URL(pages.url).port;
      const crossSite = `http://localhost:${port}`;
      const origins = [pages.url, crossSite, stranger.url];
      // keys of the 127.0.0.1 page are shared with the localhost one: only partitioning hides them there
      const share = { [pages.url]: [crossSite] };
      const debug = (query) => ({ origins, share, worker: `/test-dist/vault-worker-debug.js${query}` });
      vaultHost = await serveStatic({
        mounts: { '/vault/': here('../../dist/browser/'), '/test-dist/': here('../../dist/test/') },
        routes: {
          '/vault/vault.html': vaultPage({ origins, share }),
          '/vault/debug.html': vaultPage(debug('')),
          '/vault/fail-open.html': vaultPage(debug('?idb=open')),
          '/vault/fail-writes.html': vaultPage({ ...debug('?idb=writes'), database: 'openssl-psk-vault-writes' }),
          '/vault/only-pages.html': vaultPage({ origins: [pages.url] }),
        },
      });
      echo = await nodeTlsEchoServer({ identity, key });
      bridge = await startBridge({ allow: [`127.0.0.1:${echo.port}`], origins: [vaultHost.url] });
      pageOnlyBridge = await startBridge({ allow: [`127.0.0.1:${echo.port}`], origins: [pages.url] });
    });
    after(async () => {
      await bridge?.close();
      await pageOnlyBridge?.close();
      await echo?.stop();
      await pages?.close();
      await stranger?.close();
      await vaultHost?.close();
    });

    const args = (extra = {}) => ({
      vault: `${vaultHost.url}/vault/vault.html`,
      url: `${bridge.url}/127.0.0.1:${echo.port}`,
      identity,
      keyHex: hex(key),
      ...extra,
    });

    test('import, reload, connect without importing again; the key opens into wasm memory only at the first connect; no message carries it', async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        const first = await inPage(page, 'importAndUse', args());
        assert.equal(first.echoed.error, undefined, JSON.stringify(first.echoed.error));
        assert.equal(first.echoed.value.received, 'first visit\n');
        assert.deepEqual(first.listed, [identity]);
        assert.equal(first.leaked, false);
        assert.equal(typeof first.storage.persistent, 'boolean');
        assert.equal(first.storage.persistent, true, JSON.stringify(first.storage));
        await page.goto(`${pages.url}/e2e/page.html?reloaded`);
        const second = await inPage(page, 'reconnect', args({ vault: `${vaultHost.url}/vault/debug.html`, debug: true }));
        assert.deepEqual(second.listed, [identity]);
        assert.equal(second.before, false, 'not in wasm memory before a socket needs it');
        assert.equal(second.echoed.error, undefined, JSON.stringify(second.echoed.error));
        assert.equal(second.echoed.value.received, 'after a reload\n');
        assert.equal(second.after, true);
        assert.equal(second.leaked, false);
      } finally {
        await page.close();
      }
    });

    test("a compromised page gets nothing: its own origin's empty IndexedDB, no answer to posted messages, a navigated or removed frame ends the worker with ERR_WORKER_GONE", async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        await inPage(page, 'importAndUse', args());
        const r = await inPage(page, 'compromisedPage', args());
        assert.deepEqual(r.idb, { existed: false, stores: [] });
        // The only answers: the vault refusing a second CONNECT (the page's own origin is listed).
        assert.ok(
          r.replies.every((m) => m?.vault === 'refused'),
          JSON.stringify(r.replies),
        );
        assert.deepEqual(r.listed, [identity]);
        assert.equal(r.echoed.error, undefined, JSON.stringify(r.echoed.error)); // the posted "pair" replaced nothing
        assert.equal(r.gone, true);
        assert.ok(['ERR_WORKER_GONE', null].includes(r.pending.error?.code ?? null), JSON.stringify(r.pending));
        assert.equal(r.after.error.code, 'ERR_WORKER_GONE');
        assert.equal(r.removed.error?.code, 'ERR_WORKER_GONE', JSON.stringify(r.removed));
        assert.equal(r.leaked, false);
      } finally {
        await page.close();
      }
    });

    test("keys are per page origin: a listed origin sees none of another one's keys; an origin not listed is refused with ERR_VAULT", async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        await inPage(page, 'importAndUse', args());
        await page.goto(`${stranger.url}/e2e/page.html`);
        const seen = await inPage(page, 'look', args());
        assert.deepEqual(seen.listed, []);
        const refused = await inPage(page, 'notListed', args({ vault: `${vaultHost.url}/vault/only-pages.html` }));
        assert.equal(refused.error.code, 'ERR_VAULT', JSON.stringify(refused));
        assert.match(refused.error.message, /does not serve http:\/\/127\.0\.0\.1:\d+/);
        assert.equal(refused.frames, 0);
      } finally {
        await page.close();
      }
    });

    test("the vault's WebSockets carry the vault's Origin: a bridge allowing only the page's origin refuses them (ERR_BRIDGE_REFUSED)", async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        const r = await inPage(page, 'importAndUse', args({ url: `${pageOnlyBridge.url}/127.0.0.1:${echo.port}` }));
        assert.equal(r.echoed.error?.code, 'ERR_BRIDGE_REFUSED', JSON.stringify(r.echoed));
      } finally {
        await page.close();
      }
    });

    test('IndexedDB made to fail in the vault: open fails, storage.persistent is false with the reason, keys work in memory; writes fail, importPsk gives ERR_STORAGE and the key still works', async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        const open = await inPage(page, 'importAndEcho', args({ vault: `${vaultHost.url}/vault/fail-open.html` }));
        assert.equal(open.storage.persistent, false);
        assert.match(open.storage.error, /ERR_STORAGE|IndexedDB failed to open the key store: .*injected/);
        assert.equal(open.imported.error, undefined, JSON.stringify(open.imported));
        assert.deepEqual(open.listed, [identity]);
        assert.equal(open.echoed.value?.received, 'in memory\n', JSON.stringify(open.echoed));
        const writes = await inPage(page, 'importAndEcho', args({ vault: `${vaultHost.url}/vault/fail-writes.html` }));
        assert.equal(writes.storage.persistent, true);
        assert.equal(writes.imported.error?.code, 'ERR_STORAGE', JSON.stringify(writes.imported));
        assert.match(writes.imported.error.message, /imported for this worker only: saving it failed/);
        assert.deepEqual(writes.listed, [identity]);
        assert.equal(writes.echoed.value?.received, 'in memory\n', JSON.stringify(writes.echoed));
      } finally {
        await page.close();
      }
    });

    test('two tabs (window.open on a click) use the vault at once', async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        await inPage(page, 'importAndUse', args());
        await inPage(page, 'prepareTwoTabs', args());
        await page.click('#open-tab');
        const r = await inPage(page, 'twoTabs', args());
        assert.equal(r.here.error, undefined, JSON.stringify(r.here.error));
        assert.deepEqual(r.here.value.listed, [identity]);
        assert.equal(r.here.value.echoed.received, 'tab one\n');
        assert.equal(r.there.error, undefined, JSON.stringify(r.there.error));
        assert.deepEqual(r.there.value.listed, [identity]);
        assert.equal(r.there.value.echoed, 'tab two\n');
      } finally {
        await page.close();
      }
    });

    test(`storage partitioning: embedded by another site (localhost), the vault does not see the keys imported under 127.0.0.1, even shared; ${engine === 'chromium' ? "Chromium's off-the-record context gives that frame no IndexedDB: reported (persistent: false), keys in memory" : 'its storage there is partitioned, still persistent'}`, async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        await inPage(page, 'importAndUse', args());
        const port = new URL(pages.url).port;
        await page.goto(`http://localhost:${port}/e2e/page.html`);
        const seen = await inPage(page, 'look', args());
        assert.deepEqual(seen.listed, []);
        const used = await inPage(page, 'importAndEcho', args());
        assert.equal(used.echoed.value?.received, 'in memory\n', JSON.stringify(used.echoed));
        // What each engine does (checked): Chromium (Playwright's contexts are off the record,
        // third-party storage blocked) refuses IndexedDB to the cross-site frame; Firefox and
        // WebKit give it a partitioned one.
        assert.equal(seen.storage.persistent, engine !== 'chromium', JSON.stringify(seen.storage));
        if (!seen.storage.persistent) assert.match(seen.storage.error, /ERR_STORAGE|IndexedDB failed to open the key store/);
      } finally {
        await page.close();
      }
    });

    test('without a vault, { store }: keys survive a reload, and the page itself can decrypt them (no protection from a compromised page)', async () => {
      const page = await browserOf().newPage();
      try {
        await page.goto(`${pages.url}/e2e/page.html`);
        const storeArgs = { store: 'e2e', url: `${pageOnlyBridge.url}/127.0.0.1:${echo.port}`, identity, keyHex: hex(key) };
        const first = await inPage(page, 'sameOriginStore', { ...storeArgs, step: 'import' });
        assert.equal(first.storage.persistent, true, JSON.stringify(first.storage));
        assert.equal(first.echoed.value?.received, 'store one\n', JSON.stringify(first.echoed));
        await page.goto(`${pages.url}/e2e/page.html?reloaded`);
        const second = await inPage(page, 'sameOriginStore', { ...storeArgs, step: 'reload' });
        assert.deepEqual(second.listed, [identity]);
        assert.equal(second.echoed.value?.received, 'store two\n', JSON.stringify(second.echoed));
        assert.equal(second.readBack, hex(key));
      } finally {
        await page.close();
      }
    });

    test("examples/vault: pair once by typing the key into the vault's own form (never the page's), reload, reconnect without it", async () => {
      const demo = await startVaultDemo();
      const page = await browserOf().newPage();
      const result = () =>
        page.evaluate(async () => {
          for (let i = 0; i < 600 && !document.querySelector('#result[data-done]'); i++) await new Promise((r) => setTimeout(r, 50));
          const node = document.querySelector('#result[data-done]');
          return node ? JSON.parse(node.textContent) : { ok: false, error: 'no result within 30 s' };
        }, null);
      try {
        await page.goto(demo.pageUrl);
        const waiting = await page.evaluate(async () => {
          for (let i = 0; i < 600 && document.getElementById('state')?.dataset.state === 'starting'; i++) await new Promise((r) => setTimeout(r, 50));
          return document.getElementById('state').dataset.state;
        }, null);
        assert.equal(waiting, 'waiting', await page.evaluate(() => document.body.innerText, null));
        await page.inFrame('#vault-box iframe', [
          { type: '#identity', text: demo.identity },
          { type: '#secret', text: demo.keyHex },
          { click: 'button[type=submit]' },
        ]);
        const first = await result();
        assert.equal(first.ok, true, JSON.stringify(first));
        assert.equal(first.paired, 'now');
        assert.equal(first.received, 'hello device\n');
        const pageSaw = await page.evaluate(() => document.documentElement.outerHTML, null);
        assert.equal(pageSaw.includes(demo.keyHex), false);
        await page.goto(demo.pageUrl);
        const second = await result();
        assert.equal(second.ok, true, JSON.stringify(second));
        assert.equal(second.paired, 'earlier');
        assert.equal(second.received, 'hello device\n');
      } finally {
        await page.close();
        await demo.close();
      }
    });
  });
}
