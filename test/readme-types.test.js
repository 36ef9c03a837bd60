// Every ```js and ```ts block of README.md, type-checked as a user's strict TypeScript project
// would: each block its own module in a project of its own (under test/, ignored by git) whose
// node_modules/openssl-psk-wasm is this package, so its "exports" and "types" are what resolves.
// The names the snippets use without defining them (your key, your transport) are declared once
// in snippets.d.ts below; the compiler settings are the ones README states.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** What README's snippets leave to the reader, with the types they stand for. */
const SNIPPETS_D_TS = `// The reader's own values, which README's snippets use without defining.
/** A PSK (32 bytes here; any length OpenSSL takes). */
declare const key: Uint8Array;
declare const key32bytes: Uint8Array;
declare const deviceKey: Uint8Array;
declare const brokerKey: Uint8Array;
/** A key to hand to the TLS worker, which transfers it. */
declare const keyBuffer: ArrayBuffer;
/** Any transport that carries bytes, for the sans-IO engine. */
declare const transport: { onbytes: (bytes: Uint8Array) => void; send(bytes: Uint8Array): void };
`;

/**
 * The settings README states: strict ES modules; for a page or a worker `lib` ES2022 and DOM
 * (with Node's types, which MQTT.js's need), for Node `lib` ES2022 and Node's types (whose
 * `Duplex.toWeb()` streams DOM's stream types do not accept).
 */
const TSCONFIG = {
  compilerOptions: {
    strict: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022', 'DOM'],
    types: ['node'],
    noEmit: true,
    skipLibCheck: true,
  },
  include: ['*.ts'],
};
const NODE_LIB = ['ES2022'];

/** The ```js and ```ts blocks of README.md, each with the line it starts on. */
function readmeBlocks() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [];
  for (const match of readme.matchAll(/^```(js|ts)\n([\s\S]*?)^```$/gm)) {
    blocks.push({ lang: match[1], code: match[2], line: readme.slice(0, match.index).split('\n').length + 1 });
  }
  // None missed: an indented block, or one tagged javascript, typescript, mjs…, would be.
  const fences = readme.match(/```(?:js|ts|javascript|typescript|mjs|cjs|jsx|tsx)\b/g) ?? [];
  assert.equal(fences.length, blocks.length, 'every JavaScript or TypeScript block of README.md is a ```js or ```ts block at the start of a line');
  return blocks;
}

/** Type-checks `blocks` in a fresh consumer project with `lib`; returns tsc's exit status and output. */
function typecheck(blocks, lib = TSCONFIG.compilerOptions.lib) {
  const dir = mkdtempSync(join(root, 'test', '.readme-ts-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-snippets', private: true, type: 'module' }));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, compilerOptions: { ...TSCONFIG.compilerOptions, lib } }, null, 2));
    writeFileSync(join(dir, 'snippets.d.ts'), SNIPPETS_D_TS);
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'openssl-psk-wasm'), 'dir');
    for (const { code, line } of blocks) writeFileSync(join(dir, `README-line-${line}.ts`), code);
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Node snippet imports a node: module; the others run in a page or a worker (or Node too). */
const isNode = ({ code }) => /from 'node:/.test(code);

test("README's js and ts blocks for pages and workers type-check in a strict TypeScript project (lib ES2022, DOM)", { timeout: 120_000 }, () => {
  const blocks = readmeBlocks().filter((block) => !isNode(block));
  assert.ok(blocks.length >= 6, `README has its code blocks (found ${blocks.length})`);
  const { status, output } = typecheck(blocks);
  assert.equal(status, 0, `tsc found errors in README's snippets (the file name is the line the block starts on):\n${output}`);
});

test("README's js blocks for Node type-check in a strict TypeScript project (lib ES2022, Node's types)", { timeout: 120_000 }, () => {
  const blocks = readmeBlocks().filter(isNode);
  assert.ok(blocks.length >= 2, `README has its Node blocks (found ${blocks.length})`);
  const { status, output } = typecheck(blocks, NODE_LIB);
  assert.equal(status, 0, `tsc found errors in README's snippets (the file name is the line the block starts on):\n${output}`);
});

test('the check fails on a snippet with a type error', { timeout: 120_000 }, () => {
  const { status, output } = typecheck([
    {
      code: "import { connectTls } from 'openssl-psk-wasm';\nconst socket = connectTls('ws://127.0.0.1:8080/x:1', { psk: { identity: 'a', key } });\nsocket.opened.protocol;\n",
      line: 1,
    },
  ]);
  assert.notEqual(status, 0);
  assert.match(output, /README-line-1\.ts\(3,15\): error TS2339: Property 'protocol' does not exist on type 'Promise<TlsSocketInfo>'/);
});
