// The benchmark runs and reports every figure (its numbers are checked by people, against the
// targets it prints: no timed assertion here), and the X25519 code the wasm build links passes
// RFC 7748's vectors, natively and in wasm.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import createBench from '../bench/dist/bench-wasm.mjs';
import { FIRST_BYTE_VARIANTS } from '../bench/first-byte.mjs';
import { HANDSHAKES, PRIMITIVES, SOCKET_CASES, SUITES, WORKER_CASES, loadRawBench } from '../bench/scenarios.mjs';

const root = new URL('..', import.meta.url);
const run = promisify(execFile);

test('X25519 in the wasm build passes RFC 7748 (two vectors, 1 and 1,000 iterations)', async () => {
  const module = await WebAssembly.compile(readFileSync(new URL('bench/dist/bench-wasm.wasm', root)));
  const raw = await loadRawBench(createBench, module);
  assert.equal(raw.selftest(), true);
});

test('X25519 in the native baselines passes RFC 7748 too', async () => {
  for (const variant of ['asm', 'no-asm']) {
    const { stdout } = await run(new URL(`bench/dist/bench-${variant}`, root).pathname, ['selftest']);
    assert.deepEqual(JSON.parse(stdout), { selftest: true }, variant);
  }
});

test('npm run bench --short produces every figure, size, load time and heap figure', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  try {
    const file = join(dir, 'bench.json');
    const { stdout } = await run('node', ['bench/bench.mjs', '--short', '--json', file], { cwd: root, timeout: 540_000, maxBuffer: 1 << 24 });
    const report = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(report).sort(), ['figures', 'firstByte', 'heapPerConnection', 'loadMs', 'machine', 'sizes', 'targets']);

    const expected = [
      ...PRIMITIVES,
      ...HANDSHAKES.map((s) => `handshake ${s}`),
      ...SUITES.map((s) => `bulk ${s}`),
      ...SOCKET_CASES.flatMap((c) => [`socket ${c.name} to acceptTls`, `socket ${c.name} to s_server`]),
    ];
    for (const env of ['node', 'chromium']) {
      for (const name of expected) {
        const figure = report.figures.find((f) => f.name === name && f.env === env);
        assert.ok(figure, `${name} (${env}) is reported`);
        for (const key of ['value', 'native', 'ratio']) {
          assert.ok(Number.isFinite(figure[key]) && figure[key] > 0, `${name} (${env}): ${key} = ${figure[key]}`);
        }
        assert.ok(['handshakes/s', 'MB/s', 'ops/s'].includes(figure.unit));
        assert.ok(Math.abs(figure.ratio - figure.value / figure.native) < 1e-9, 'ratio = value / native');
        if (!name.startsWith('socket')) {
          for (const key of ['raw', 'nativeNoAsm', 'ratioNoAsm']) assert.ok(figure[key] > 0, `${name} (${env}): ${key}`);
          if (!PRIMITIVES.includes(name)) assert.ok(figure.facadeOverRaw > 0, `${name} (${env}): facadeOverRaw`);
        }
        assert.match(stdout, new RegExp(`^${name} +${env} `, 'm'), 'the table shows it');
      }
    }

    // The TLS worker in each environment, on each stream path it has, next to the page's figure.
    const paths = { node: ['transfer', 'port'], chromium: ['transfer', 'port'], firefox: ['transfer', 'port'], webkit: ['port'] };
    for (const [env, list] of Object.entries(paths)) {
      for (const name of WORKER_CASES) {
        const inPage = report.figures.find((f) => f.name === `socket ${name} to acceptTls` && f.env === env);
        assert.ok(inPage?.value > 0, `socket ${name} to acceptTls (${env}) is reported, for comparison`);
        for (const streams of list) {
          const figure = report.figures.find((f) => f.name === `worker (${streams}) socket ${name} to acceptTls` && f.env === env);
          assert.ok(figure, `worker (${streams}) ${name} (${env}) is reported`);
          for (const key of ['value', 'native', 'ratio', 'page', 'overPage'])
            assert.ok(Number.isFinite(figure[key]) && figure[key] > 0, `worker (${streams}) ${name} (${env}): ${key}`);
          assert.ok(Math.abs(figure.overPage - figure.value / figure.page) < 1e-9, 'worker/page = value / page');
          assert.match(stdout, new RegExp(`^worker \\(${streams}\\) socket ${name} to acceptTls +${env} `, 'm'), 'the table shows it');
        }
      }
    }

    const wasm = readFileSync(new URL('wasm/dist/openssl-psk.wasm', root));
    assert.equal(report.sizes.wasm, wasm.length);
    assert.ok(report.sizes.wasmGzip9 > 0 && report.sizes.wasmGzip9 < wasm.length);
    assert.ok(report.sizes.glue > 0 && report.sizes.glueGzip9 > 0);
    for (const env of ['node', 'chromium']) {
      assert.ok(report.loadMs[env].cold > 0 && report.loadMs[env].cached > 0, `loadMs.${env}`);
    }
    assert.ok(report.heapPerConnection.client > 0 && report.heapPerConnection.server > 0);
    // Bulk through the stack next to a plain WebSocket through the same bridge, in each environment.
    for (const env of ['node', 'chromium', 'firefox', 'webkit']) {
      const plain = report.figures.find((f) => f.name === 'plain WebSocket bulk to a TCP sink' && f.env === env);
      assert.ok(plain?.value > 0, `plain WebSocket bulk (${env})`);
      const tls = report.figures.filter((f) => f.env === env && f.name.includes('bulk TLS_CHACHA20_POLY1305_SHA256'));
      assert.ok(tls.length > 0 && tls.every((f) => Math.abs(f.overPlain - f.value / plain.value) < 1e-9), `TLS/plain (${env})`);
    }
    // The cold first byte: every variant on loopback and emulated, with its steps, and warm.
    const fb = report.firstByte;
    assert.match(fb.module.url, /\.wasm$/);
    assert.ok(fb.module.encodedBodySize > 0 && fb.module.encodedBodySize < fb.module.decodedBodySize, 'the module went compressed');
    for (const env of ['loopback', 'emulated']) {
      for (const variant of FIRST_BYTE_VARIANTS) {
        const figure = fb[env].variants[variant];
        assert.ok(figure.firstByte.median > 0, `${variant} (${env})`);
        for (const [step, value] of Object.entries(figure.steps)) assert.ok(Number.isFinite(value.median), `${variant} (${env}): ${step}`);
      }
      assert.ok(fb[env].warm.tls.median > 0 && fb[env].warm.plain.median > 0);
      assert.ok(fb[env].warm.early.median > 0 && fb[env].warm.earlyPlain.median > 0);
    }
    assert.ok(
      fb.preloadFetches.every((n) => n === 1),
      'the preload page fetched the .wasm once',
    );
    assert.match(stdout, /cold first byte, ms from navigation start/);
    for (const name of [
      'cold first byte, tls (connectTls to s_server) / plain page (chromium, loopback)',
      'warm first byte (module loaded), tls (connectTls to s_server) / plain WebSocket (chromium, emulated)',
      'warm first byte (module loaded), early (0-RTT to acceptTls, 0.5-RTT answer) / plain WebSocket (chromium, loopback)',
    ]) {
      assert.ok(
        report.targets.some((t) => t.name === name),
        name,
      );
    }
    assert.ok(report.targets.length >= 20 && report.targets.every((t) => typeof t.met === 'boolean'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
