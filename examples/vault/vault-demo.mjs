// The key vault example: a device (Node's `tls` with a PSK, an echo server), the bridge in front
// of it (allowing the vault's Origin: the vault's worker opens the WebSockets), the page on
// http://127.0.0.1:P1 (./index.html, ./app.js) and the vault, the package's own vault.html
// with this page's origin in its allow-list, on http://127.0.0.1:P2. Run it
// (`node examples/vault/vault-demo.mjs`), open the page, type the printed key into the vault's
// form, reload. test/e2e/vault-suite.js drives it in the three engines.
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../../lib/node/bridge.js';
import { serveStatic } from '../static-server.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

/** The package's vault.html with `config` as its configuration (what a host edits by hand). */
export function configuredVault(config) {
  const shipped = readFileSync(here('../../dist/browser/vault.html'), 'utf8');
  return shipped.replace(/(<script type="application\/json" id="openssl-psk-vault-config">)[\s\S]*?(<\/script>)/, `$1${JSON.stringify(config)}$2`);
}

const html = (text) => (req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(text);

/** Starts everything; resolves with { pageUrl, identity, keyHex, close() }. */
export async function startVaultDemo({ identity = 'device-1' } = {}) {
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const device = createServer(
    { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256', pskCallback: (socket, id) => (id === identity ? key : null) },
    (socket) => socket.pipe(socket).on('error', () => {}),
  );
  device.listen(0, '127.0.0.1');
  await once(device, 'listening');
  const target = `127.0.0.1:${device.address().port}`;
  let pageOrigin = '';
  const vault = await serveStatic({
    mounts: { '/vault/': here('../../dist/browser/') },
    routes: { '/vault/vault.html': (req, res) => html(configuredVault({ origins: [pageOrigin] }))(req, res) },
  });
  const bridge = await startBridge({ allow: [target], origins: [vault.url] });
  const page = await serveStatic({
    mounts: { '/': here('./'), '/page.css': here('../browser/page.css'), '/lib/': here('../../dist/browser/') },
    routes: {
      '/config.json': (req, res) =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ vault: `${vault.url}/vault/vault.html`, bridge: `${bridge.url}/${target}`, identity })),
    },
  });
  pageOrigin = page.url;
  return {
    pageUrl: `${page.url}/`,
    identity,
    keyHex: Buffer.from(key).toString('hex'),
    async close() {
      await page.close();
      await bridge.close();
      await vault.close();
      device.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await startVaultDemo();
  console.log(`page:  ${demo.pageUrl}`);
  console.log(`key of ${demo.identity}, to type into the vault's form: ${demo.keyHex}`);
  console.log('Ctrl-C to stop');
}
