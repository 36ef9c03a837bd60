// The package as `npm pack` makes it: what the tarball holds (one .wasm, the LICENSE, source
// maps that carry their sources, no tests or sources beside), and a package.json that points
// every export at a file it ships. The bundler apps of test/bundlers.test.js install this tarball.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

async function packed() {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--silent'], { cwd: root, maxBuffer: 16 << 20 });
  return JSON.parse(stdout)[0].files.map((f) => f.path);
}

/** Every file an exports entry names (conditions included). */
function exportTargets(node, out = []) {
  if (typeof node === 'string') out.push(node.replace(/^\.\//, ''));
  else for (const value of Object.values(node)) exportTargets(value, out);
  return out;
}

test('the tarball: one .wasm of each build, the LICENSE and README, no sources, tests or examples; every source map carries its sources', async () => {
  const files = await packed();
  assert.deepEqual(files.filter((f) => f.endsWith('.wasm')).sort(), ['dist/browser/openssl-psk-full.wasm', 'dist/browser/openssl-psk.wasm']);
  for (const required of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/browser/tls-worker.js',
    'dist/browser/vault.html',
    'dist/browser/vault.js',
    'dist/browser/vault-worker.js',
    'dist/browser/full.js',
    'lib/full.js',
    'wasm/dist/openssl-psk.mjs',
    'wasm/dist/build-info.json',
    'wasm/dist/openssl-psk-full.mjs',
    'wasm/dist/build-info-full.json',
  ]) {
    assert.ok(files.includes(required), required);
  }
  assert.deepEqual(
    files.filter((f) => /^(src|test|examples|bench|fuzz|scripts|docs)\//.test(f)),
    [],
  );
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  for (const part of ['MIT License', 'OpenSSL License', 'Original SSLeay License', 'musl', 'dlmalloc', 'LLVM Exceptions', 'Apache License']) {
    assert.ok(license.includes(part), `LICENSE names ${part}`);
  }
  const maps = files.filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 20);
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(readFileSync(join(root, map), 'utf8'));
    assert.equal(sourcesContent?.length, sources.length, `${map} carries its sources`);
  }
});

test('package.json: every export points at a shipped file; the worker script, the vault page and its scripts, and the .wasm are exports; publishing fields are set', async () => {
  const files = new Set(await packed());
  for (const target of exportTargets(pkg.exports)) assert.ok(files.has(target), `exports names ${target}, which the tarball lacks`);
  for (const entry of [
    '.',
    './full',
    './worker',
    './fetch',
    './mqtt',
    './bridge',
    './tls-worker.js',
    './vault.html',
    './vault.js',
    './vault-worker.js',
    './openssl-psk.wasm',
    './openssl-psk-full.wasm',
  ]) {
    assert.ok(pkg.exports[entry], entry);
  }
  assert.equal(pkg.exports['./openssl-psk.wasm'], './dist/browser/openssl-psk.wasm');
  assert.equal(pkg.exports['./openssl-psk-full.wasm'], './dist/browser/openssl-psk-full.wasm');
  assert.deepEqual(pkg.exports['./full'], { types: './lib/full.d.ts', browser: './dist/browser/full.js', default: './lib/full.js' });
  assert.equal(pkg.license, 'MIT AND OpenSSL');
  assert.ok(pkg.keywords.includes('psk') && pkg.keywords.includes('webassembly'));
  assert.ok(Array.isArray(pkg.sideEffects) && pkg.sideEffects.includes('./dist/browser/tls-worker.js'));
  assert.ok(pkg.sideEffects.includes('./dist/browser/vault.js') && pkg.sideEffects.includes('./dist/browser/vault-worker.js'));
  assert.equal(pkg.type, 'module');
  for (const target of pkg.sideEffects.filter((p) => !p.includes('*'))) assert.ok(files.has(target.replace(/^\.\//, '')), target);
});
