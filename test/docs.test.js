// The API reference as `npm run docs` makes it (typedoc.json, warnings are errors): it builds,
// its landing page is the README, and its modules bear the names users import.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const MODULES = [
  'openssl-psk-wasm',
  'openssl-psk-wasm/full',
  'openssl-psk-wasm/worker',
  'openssl-psk-wasm/bridge',
  'openssl-psk-wasm/fetch',
  'openssl-psk-wasm/mqtt',
];

/** The main entry points: each has a page with an example. */
const EXAMPLES = {
  'functions/openssl-psk-wasm.loadOpenSSL.html': 'loadOpenSSL(',
  'classes/openssl-psk-wasm.OpenSSL.html': 'createContext(',
  'functions/openssl-psk-wasm.connectTls.html': 'connectTls(',
  'functions/openssl-psk-wasm.acceptTls.html': 'acceptTls(',
  'functions/openssl-psk-wasm_worker.createTlsWorker.html': 'createTlsWorker(',
  'functions/openssl-psk-wasm_bridge.startBridge.html': 'startBridge(',
  'functions/openssl-psk-wasm_fetch.createPskFetch.html': 'createPskFetch(',
  'functions/openssl-psk-wasm_mqtt.mqttStreamBuilder.html': 'mqttStreamBuilder(',
};

test(
  'typedoc builds the API reference with the README as its landing page, the modules named as imported, the entry points with examples',
  { timeout: 90_000 },
  () => {
    const out = mkdtempSync(join(tmpdir(), 'openssl-psk-wasm-docs-'));
    try {
      const r = spawnSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', out], { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 0, `typedoc failed (warnings are errors):\n${r.stdout}${r.stderr}`);
      const landing = readFileSync(join(out, 'index.html'), 'utf8');
      assert.match(landing, /OpenSSL 1\.1\.1w compiled to WebAssembly/, 'the landing page is the README');
      assert.match(landing, /Keys in a Web Worker/);
      const modules = readFileSync(join(out, 'modules.html'), 'utf8');
      for (const name of MODULES) assert.ok(modules.includes(`>${name}<`), `the module list names ${name}`);
      for (const name of ['src/index', 'node/bridge', 'worker/index']) assert.ok(!modules.includes(`>${name}<`), `no module is named after its file (${name})`);
      for (const [page, call] of Object.entries(EXAMPLES)) {
        const html = readFileSync(join(out, page), 'utf8');
        assert.match(html, /id="example[^"]*"/, `${page} has an example`);
        assert.ok(html.replace(/<[^>]+>/g, '').includes(call), `${page}'s example calls ${call}`);
      }
      assert.match(readFileSync(join(out, 'classes/openssl-psk-wasm.SslContext.html'), 'utf8'), /setKeylogCallback/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
