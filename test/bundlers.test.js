// The package as users get it: `npm pack`, installed into the example apps of examples/vite,
// examples/webpack and examples/esbuild, built for production by the real bundlers, served,
// and run in each browser engine: the engine in the page, the TLS worker and a worker with a
// same-origin store (the vault's worker script, which the bundlers must emit too) each complete
// a TLS 1.3 PSK session through the bridge and echo. Vite's dev server too. A bundler's warning
// about Node built-ins (or an asset it cannot find) fails the test.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ENGINES, installed, launchBrowser } from '../examples/browsers.mjs';
import { serveStatic } from '../examples/static-server.mjs';
import { startBridge } from '../lib/node/bridge.js';
import { nodeTlsEchoServer, stopPeers } from './helpers/peers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
/** What a bundler says when the browser graph reaches Node: none of it may appear. */
const NODE_WARNINGS = /node:|externalized for browser compatibility|doesn't exist at build time|UnhandledSchemeError|Can't resolve|worker_threads|fs\/promises/;

let work; // a directory inside the repository, so that the bundlers resolve from its node_modules
let tarball;
let echo;
let bridge;
const identity = 'bundled-app';
const key = webcrypto.getRandomValues(new Uint8Array(32));

before(async () => {
  work = mkdtempSync(join(root, 'test', '.bundlers-'));
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root });
  tarball = join(work, stdout.trim().split('\n').pop());
  echo = await nodeTlsEchoServer({ identity, key });
  bridge = await startBridge({ allow: [`127.0.0.1:${echo.port}`] });
});
after(async () => {
  await bridge?.close();
  await echo?.stop();
  await stopPeers();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** examples/<name> copied, with the packed tarball installed as its openssl-psk-wasm (its bundler comes from the repository's devDependencies). */
async function installApp(name) {
  const dir = join(work, name);
  cpSync(join(root, 'examples', name), dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.dependencies['openssl-psk-wasm'] = `file:${tarball}`;
  delete pkg.devDependencies;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
  return dir;
}

/** Runs a bundler; resolves with everything it printed. */
async function bundle(dir, command, args) {
  const { stdout, stderr } = await run(process.execPath, [join(root, 'node_modules', command), ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return `${stdout}${stderr}`;
}

/** Opens `url` (with the bridge and the key in its query) in each engine; the page's #result. */
async function runInEngines(url) {
  const query = `?url=${encodeURIComponent(`${bridge.url}/127.0.0.1:${echo.port}`)}&identity=${identity}&key=${Buffer.from(key).toString('hex')}`;
  const results = {};
  for (const engine of ENGINES.filter(installed)) {
    const browser = await launchBrowser(engine);
    try {
      const page = await browser.newPage();
      await page.goto(`${url}${query}`);
      results[engine] = await page.evaluate(async () => {
        for (let i = 0; i < 600 && !document.querySelector('#result[data-done]'); i++) await new Promise((r) => setTimeout(r, 50));
        const node = document.querySelector('#result[data-done]');
        return node ? JSON.parse(node.textContent) : { error: 'no result within 30 s' };
      }, null);
      await page.close();
    } finally {
      await browser.close();
    }
  }
  return results;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
/** Which build each .wasm under `dir` (recursively) is: 'psk', 'full', or its name if neither. */
function emittedBuilds(dir) {
  const builds = {
    [sha256(readFileSync(join(root, 'dist/browser/openssl-psk.wasm')))]: 'psk',
    [sha256(readFileSync(join(root, 'dist/browser/openssl-psk-full.wasm')))]: 'full',
  };
  return readdirSync(dir, { recursive: true })
    .filter((f) => String(f).endsWith('.wasm'))
    .map((f) => builds[sha256(readFileSync(join(dir, String(f))))] ?? String(f));
}

function checkEchoes(results) {
  assert.ok(Object.keys(results).length > 0, 'no browser engine installed');
  for (const [engine, result] of Object.entries(results)) {
    assert.deepEqual(result, { page: 'TLSv1.3 from the page', worker: 'TLSv1.3 from the worker', store: 'TLSv1.3 from the store' }, engine);
  }
}

async function served(dir, fn) {
  const web = await serveStatic({ mounts: { '/': dir } });
  try {
    return await fn(web.url);
  } finally {
    await web.close();
  }
}

describe('the packed package in apps built by real bundlers', { timeout: 600_000 }, () => {
  test('vite build (no config): no warning about Node built-ins; page and worker echo in every engine', async () => {
    const dir = await installApp('vite');
    const output = await bundle(dir, 'vite/bin/vite.js', ['build']);
    assert.doesNotMatch(output, NODE_WARNINGS, output);
    const assets = readdirSync(join(dir, 'dist', 'assets'));
    assert.deepEqual(emittedBuilds(join(dir, 'dist')), ['psk'], 'an app of openssl-psk-wasm emits the PSK build only');
    assert.ok(
      assets.some((f) => /^vault-worker.*\.js$/.test(f)),
      `the store's worker emitted: ${assets.join(', ')}`,
    );
    checkEchoes(await served(join(dir, 'dist'), (url) => runInEngines(`${url}/index.html`)));
  });

  test('vite dev (its dependency optimizer rewrites the package): page and worker echo in every engine', async () => {
    const dir = join(work, 'vite');
    const server = spawn(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1', '--port', '0', '--strictPort=false'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (d) => (output += d));
    server.stderr.on('data', (d) => (output += d));
    try {
      for (let i = 0; i < 200 && !/Local:\s+http:\/\/127\.0\.0\.1:\d+/.test(output); i++) await new Promise((r) => setTimeout(r, 100));
      const url = /Local:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      assert.ok(url, output);
      checkEchoes(await runInEngines(`${url}/index.html`));
      assert.doesNotMatch(output, NODE_WARNINGS, output);
    } finally {
      server.kill();
    }
  });

  test('webpack 5 (entry and output only): no warning about Node built-ins; page and worker echo in every engine', async () => {
    const dir = await installApp('webpack');
    const output = await bundle(dir, 'webpack-cli/bin/cli.js', []);
    assert.doesNotMatch(output, NODE_WARNINGS, output);
    assert.match(output, /compiled/);
    assert.deepEqual(emittedBuilds(join(dir, 'dist')), ['psk'], 'an app of openssl-psk-wasm emits the PSK build only');
    checkEchoes(await served(dir, (url) => runInEngines(`${url}/index.html`)));
  });

  test('an app that imports openssl-psk-wasm/full only: vite and webpack emit the full build only', async () => {
    const app = "import { loadOpenSSL } from 'openssl-psk-wasm/full';\nconst openssl = await loadOpenSSL();\ndocument.body.textContent = openssl.version;\n";
    const vite = join(work, 'vite');
    writeFileSync(join(vite, 'src/main.js'), app);
    const viteOutput = await bundle(vite, 'vite/bin/vite.js', ['build']);
    assert.doesNotMatch(viteOutput, NODE_WARNINGS, viteOutput);
    assert.deepEqual(emittedBuilds(join(vite, 'dist')), ['full'], 'vite');
    const webpack = join(work, 'webpack');
    writeFileSync(join(webpack, 'src/index.js'), app);
    const webpackOutput = await bundle(webpack, 'webpack-cli/bin/cli.js', []);
    assert.doesNotMatch(webpackOutput, NODE_WARNINGS, webpackOutput);
    assert.deepEqual(emittedBuilds(join(webpack, 'dist')), ['full'], 'webpack');
  });

  test("esbuild, README's recipe (bundle, then copy the worker script and the .wasm beside it): page and worker echo in every engine", async () => {
    const dir = await installApp('esbuild');
    // `npm run build`, the app's own script, with esbuild from the repository's devDependencies.
    const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` };
    const { stdout, stderr } = await run('npm', ['run', 'build', '--silent'], { cwd: dir, env });
    assert.doesNotMatch(`${stdout}${stderr}`, NODE_WARNINGS, `${stdout}${stderr}`);
    checkEchoes(await served(dir, (url) => runInEngines(`${url}/index.html`)));
  });
});
