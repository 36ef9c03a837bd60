// The build's promises: pinned inputs recorded in build-info.json, the recorded hash is the
// .wasm's, only the shim's functions exported, src/core/ffi.ts and ffi-imports.ts in step with
// the C header.
// (That the same inputs give the same bytes is checked by `./build.sh --verify`, run by npm test.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EXPORTED_FUNCTIONS } from '../lib/core/ffi.js';

const root = new URL('..', import.meta.url);
const read = (path) => readFileSync(new URL(path, root));
/** The two builds: the PSK build (the package's default) and the full build. */
const BUILDS = [
  { name: 'psk', info: JSON.parse(read('wasm/dist/build-info.json')), file: 'openssl-psk' },
  { name: 'full', info: JSON.parse(read('wasm/dist/build-info-full.json')), file: 'openssl-psk-full' },
];
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The values pinned in wasm/inputs.sh, read by bash itself. */
function pinned() {
  const out = execFileSync(
    'bash',
    [
      '-c',
      'source wasm/inputs.sh; for f in "${!INPUT_SHA256[@]}"; do echo "$f ${INPUT_SHA256[$f]}"; done; echo "debian $DEBIAN_VERSION"; echo "packaging ${#DEBIAN_PACKAGING_PATCHES[@]}"',
    ],
    { cwd: root, encoding: 'utf8' },
  );
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => line.split(' ')),
  );
}

for (const { name, info, file } of BUILDS) {
  test(`${name} build: build-info records every pinned input with the pinned sha256`, () => {
    const pins = pinned();
    assert.equal(info.openssl, pins.debian);
    assert.equal(info.inputs['openssl_1.1.1w.orig.tar.gz'], 'cf3098950cb4d853ad95c0841f1f9c6d3dc102dccfcacd521d93925208b76ac8');
    for (const [file, hash] of Object.entries(pins)) {
      if (file.endsWith('.tar.gz') || file.endsWith('.tar.xz')) assert.equal(info.inputs[file], hash, file);
    }
    const patches = Object.keys(info.inputs).filter((k) => k.startsWith('debian/patches/'));
    assert.equal(patches.length, 40, 'the 40 security patches of the series, not the 6 packaging ones');
    assert.ok(patches.includes('debian/patches/CVE-2024-5535-1.patch'));
    assert.ok(!patches.includes('debian/patches/debian-targets.patch'));
    for (const input of ['wasm/shim/psk.c', 'wasm/shim/opw.h', 'scripts/gen-ffi.mjs', 'wasm/flags.sh']) {
      assert.equal(info.inputs[input], sha256(read(input)), `${input} as built is the file in the tree`);
    }
    // The PSK build's own patch is an input of that build only.
    assert.equal(info.inputs['wasm/patches/psk/psk-build.patch'], name === 'psk' ? sha256(read('wasm/patches/psk/psk-build.patch')) : undefined);
  });

  test(`${name} build: build-info records the toolchain, the flags, and the .wasm it describes`, () => {
    assert.match(info.emcc, /3\.1\.6/);
    for (const flag of [
      'no-asm',
      'no-threads',
      'no-shared',
      'no-dso',
      'no-engine',
      'no-async',
      'no-ssl3',
      'no-comp',
      'no-srp',
      'no-ct',
      'no-ocsp',
      'no-cms',
      '--with-rand-seed=none',
    ]) {
      assert.ok(info.configureFlags.includes(flag), flag);
    }
    assert.ok(!info.configureFlags.includes('no-psk'));
    assert.ok(info.linkFlags.includes('-sFILESYSTEM=0'));
    assert.equal(info.build, name);
    assert.equal(info.linkFlags.includes('-DOPW_PSK_ONLY'), name === 'psk');
    const wasm = read(`wasm/dist/${file}.wasm`);
    assert.equal(info.wasm.sha256, sha256(wasm));
    assert.equal(info.wasm.bytes, wasm.length);
    assert.equal(info.glue.sha256, sha256(read(`wasm/dist/${file}.mjs`)));
  });

  test(`${name} build: the .wasm exports only the shim (and five functions of the runtime)`, () => {
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(read(`wasm/dist/${file}.wasm`)));
    const functions = exports.filter((e) => e.kind === 'function');
    // __wasm_call_ctors and __errno_location come with the emscripten runtime, and malloc
    // when the glue needs it (the full build's does, the PSK build's not); stackSave and
    // stackRestore are there for the trap guard.
    assert.ok(functions.length === EXPORTED_FUNCTIONS.length + (name === 'psk' ? 4 : 5), `${functions.length} functions`);
    assert.deepEqual(
      exports
        .filter((e) => e.kind !== 'function')
        .map((e) => e.kind)
        .sort(),
      ['memory', 'table'],
    );
  });
}

test('src/core/ffi.ts and ffi-imports.ts are generated from wasm/shim/opw.h and up to date', () => {
  execFileSync(process.execPath, ['scripts/gen-ffi.mjs', '--check'], { cwd: root, stdio: 'pipe' });
  const header = read('wasm/shim/opw.h').toString();
  const declared = header.match(/^OPW_EXPORT .*?\b(opw_\w+)\(/gm).map((line) => `_${/\b(opw_\w+)\(/.exec(line)[1]}`);
  assert.deepEqual([...EXPORTED_FUNCTIONS], declared);
});

test('no build output or OpenSSL source is tracked by git', () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n');
  const bad = tracked.filter((f) => /(^|\/)node_modules\/|\.wasm$|^wasm\/dist\/|^lib\/|^dist\/|openssl-1\.1\.1/.test(f));
  assert.deepEqual(bad, []);
});

test("the PSK build's object table (psk-objects.patch) holds exactly the NIDs of objects-keep.txt", () => {
  const keep = read('wasm/patches/psk/objects-keep.txt')
    .toString()
    .split('\n')
    .flatMap((line) => line.replace(/#.*/, '').split(/\s+/).filter(Boolean));
  const patch = read('wasm/patches/psk/psk-objects.patch').toString();
  const kept = [...patch.matchAll(/^\+ {4}\{"[^"]*", "[^"]*", (NID_\w+)/gm)].map((m) => m[1]).filter((nid) => nid !== 'NID_undef');
  assert.deepEqual([...new Set(kept)].sort(), [...new Set(keep)].sort());
  assert.match(patch, /^\+#define NUM_NID 1195$/m, 'every NID keeps its position (OBJ_nid2obj indexes the table)');
  assert.match(patch, /^\+#ifdef OPW_PSK_SMALL_OBJ_TABLE$/m, 'the full build keeps the whole table');
});
