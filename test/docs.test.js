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
const MODULES = ['openssl-psk-wasm', 'openssl-psk-wasm/worker', 'openssl-psk-wasm/bridge', 'openssl-psk-wasm/fetch', 'openssl-psk-wasm/mqtt'];

test('typedoc builds the API reference with the README as its landing page and the modules named as imported', { timeout: 90_000 }, () => {
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
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
