// Every ```js and ```ts block of README.md, and every ```ts example of the TSDoc comments in
// src/ (the API reference's), type-checked as a user's strict TypeScript project would: each
// block its own module in a project of its own (under test/, ignored by git) whose
// node_modules/openssl-psk-wasm is this package, so its "exports" and "types" are what resolves.
// The names the snippets use without defining them (your key, your transport) are declared once
// in snippets.d.ts below; the compiler settings are the ones README states.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
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
    blocks.push({ code: match[2], name: `README-line-${readme.slice(0, match.index).split('\n').length + 1}` });
  }
  // None missed: an indented block, or one tagged javascript, typescript, mjs…, would be.
  const fences = readme.match(/```(?:js|ts|javascript|typescript|mjs|cjs|jsx|tsx)\b/g) ?? [];
  assert.equal(fences.length, blocks.length, 'every JavaScript or TypeScript block of README.md is a ```js or ```ts block at the start of a line');
  return blocks;
}

/** The ```ts blocks of the TSDoc comments in src/ (the API reference's examples), each with its file and line. */
function sourceBlocks(dir = join(root, 'src')) {
  const blocks = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) blocks.push(...sourceBlocks(path));
    else if (entry.name.endsWith('.ts')) {
      const lines = readFileSync(path, 'utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (!/^\s*\* ```ts$/.test(lines[i])) continue;
        const start = i + 1;
        const code = [];
        while (++i < lines.length && !/^\s*\* ```$/.test(lines[i])) code.push(lines[i].replace(/^\s*\*( |$)/, ''));
        blocks.push({ code: `${code.join('\n')}\n`, name: `${relative(root, path).replaceAll(/[/.]/g, '-')}-line-${start}` });
      }
    }
  }
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
    for (const { code, name } of blocks) writeFileSync(join(dir, `${name}.ts`), code);
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Node snippet imports a node: module; the others run in a page or a worker (or Node too). */
const isNode = ({ code }) => /from 'node:/.test(code);

const SRC_EXAMPLES = 10;

test(
  "README's js and ts blocks and the API reference's examples for pages and workers type-check in a strict TypeScript project (lib ES2022, DOM)",
  { timeout: 120_000 },
  () => {
    const readme = readmeBlocks().filter((block) => !isNode(block));
    const examples = sourceBlocks().filter((block) => !isNode(block));
    assert.ok(readme.length >= 6, `README has its code blocks (found ${readme.length})`);
    assert.ok(examples.length >= SRC_EXAMPLES, `the TSDoc comments have their examples (found ${examples.length})`);
    const { status, output } = typecheck([...readme, ...examples]);
    assert.equal(status, 0, `tsc found errors in the snippets (each file is named after the line its block starts on):\n${output}`);
  },
);

test(
  "README's js blocks and the API reference's examples for Node type-check in a strict TypeScript project (lib ES2022, Node's types)",
  { timeout: 120_000 },
  () => {
    const blocks = [...readmeBlocks(), ...sourceBlocks()].filter(isNode);
    assert.ok(blocks.length >= 3, `README and the TSDoc comments have their Node blocks (found ${blocks.length})`);
    const { status, output } = typecheck(blocks, NODE_LIB);
    assert.equal(status, 0, `tsc found errors in the snippets (each file is named after the line its block starts on):\n${output}`);
  },
);

test('the check fails on a snippet with a type error', { timeout: 120_000 }, () => {
  const code =
    "import { connectTls } from 'openssl-psk-wasm';\nconst socket = connectTls('ws://127.0.0.1:8080/x:1', { psk: { identity: 'a', key } });\nsocket.opened.protocol;\n";
  const { status, output } = typecheck([{ code, name: 'README-line-1' }]);
  assert.notEqual(status, 0);
  assert.match(output, /README-line-1\.ts\(3,15\): error TS2339: Property 'protocol' does not exist on type 'Promise<TlsSocketInfo>'/);
});
