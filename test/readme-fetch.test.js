// README's pskFetch snippet, run as written against a device's HTTPS-PSK API behind the bridge:
// only the addresses and the key are the test's (the snippet's `deviceKey` is declared before it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDevice } from '../examples/redfish/device.mjs';
import { startBridge } from '../lib/node/bridge.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The first ```js block after `heading` in README.md. */
function snippetAfter(heading) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has "${heading}"`);
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `a js block after "${heading}"`);
  return block[1];
}

test("README's pskFetch snippet lists the device's systems through the bridge", async () => {
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const device = await startDevice({ identity: 'bmc-admin', key });
  const bridge = await startBridge({ allow: [`127.0.0.1:${device.port}`] });
  // Inside the package, so that 'openssl-psk-wasm/fetch' resolves to itself as it would once installed.
  const dir = mkdtempSync(join(root, 'test', '.readme-'));
  try {
    const snippet = snippetAfter('## HTTPS-PSK: `pskFetch`');
    assert.match(snippet, /ws:\/\/127\.0\.0\.1:8080/);
    assert.match(snippet, /https:\/\/127\.0\.0\.1:8443/);
    const program = `const deviceKey = Uint8Array.from(Buffer.from('${Buffer.from(key).toString('hex')}', 'hex'));\n${snippet
      .replace('ws://127.0.0.1:8080', bridge.url)
      .replace('127.0.0.1:8443', `127.0.0.1:${device.port}`)}`;
    writeFileSync(join(dir, 'snippet.mjs'), program);
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'snippet.mjs')], { timeout: 30_000 });
    assert.match(stdout, /^200 \{/);
    assert.match(stdout, /'Members@odata\.count': 1/);
    assert.equal(device.accepted(), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await bridge.close();
    await device.stop();
  }
});
