// README's snippets for pskFetch and MQTT, run as written against real peers behind the bridge
// (a device's HTTPS-PSK API, mosquitto with psk_file): only the addresses and the key are the
// test's (the key is declared before the snippet), and for MQTT a last line that ends the client.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDevice } from '../examples/redfish/device.mjs';
import { startBridge } from '../lib/node/bridge.js';
import { mosquittoBroker, stopPeers } from './helpers/peers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
after(stopPeers);

/** The first ```js block after `heading` in README.md. */
function snippetAfter(heading) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has "${heading}"`);
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `a js block after "${heading}"`);
  return block[1];
}

/** Runs `program` as a module inside the package (so 'openssl-psk-wasm/…' resolves to itself, as once installed). */
async function runInPackage(program) {
  const dir = mkdtempSync(join(root, 'test', '.readme-'));
  try {
    writeFileSync(join(dir, 'snippet.mjs'), program);
    return (await promisify(execFile)(process.execPath, [join(dir, 'snippet.mjs')], { timeout: 30_000 })).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const keyLine = (name, key) => `const ${name} = Uint8Array.from(Buffer.from('${Buffer.from(key).toString('hex')}', 'hex'));\n`;

test("README's pskFetch snippet lists the device's systems through the bridge", async () => {
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const device = await startDevice({ identity: 'bmc-admin', key });
  const bridge = await startBridge({ allow: [`127.0.0.1:${device.port}`] });
  try {
    const snippet = snippetAfter('## HTTPS-PSK: `pskFetch`');
    assert.match(snippet, /ws:\/\/127\.0\.0\.1:8080/);
    assert.match(snippet, /https:\/\/127\.0\.0\.1:8443/);
    const stdout = await runInPackage(
      keyLine('deviceKey', key) + snippet.replace('ws://127.0.0.1:8080', bridge.url).replace('127.0.0.1:8443', `127.0.0.1:${device.port}`),
    );
    assert.match(stdout, /^200 \{/);
    assert.match(stdout, /'Members@odata\.count': 1/);
    assert.equal(device.accepted(), 1);
  } finally {
    await bridge.close();
    await device.stop();
  }
});

test("README's MQTT snippet subscribes and receives its own publication from mosquitto through the bridge", async () => {
  const key = webcrypto.getRandomValues(new Uint8Array(32));
  const broker = await mosquittoBroker({ users: new Map([['page-1', key]]) });
  const bridge = await startBridge({ allow: [`127.0.0.1:${broker.port}`] });
  try {
    const snippet = snippetAfter('## MQTT with MQTT.js');
    assert.match(snippet, /ws:\/\/127\.0\.0\.1:8080\/127\.0\.0\.1:8883/);
    const stdout = await runInPackage(
      `${keyLine('brokerKey', key)}${snippet.replace('ws://127.0.0.1:8080/127.0.0.1:8883', `${bridge.url}/127.0.0.1:${broker.port}`)}\nclient.once('message', () => client.end());\n`,
    );
    assert.equal(stdout, 'sensors/kitchen/temp 21.5\n');
  } finally {
    await bridge.close();
    await broker.stop();
  }
});
