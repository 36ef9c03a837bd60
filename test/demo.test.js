// `npm start`'s scripted run (examples/browser-demo.mjs --once): both example pages, the engine
// in the page and in a worker, in each of the three browser engines, one line each.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('npm start --once: both example pages echo through the bridge in Chromium, Firefox and WebKit', { timeout: 240_000 }, async () => {
  const demo = spawn(process.execPath, ['examples/browser-demo.mjs', '--once'], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stdout.on('data', (d) => (output += d));
  demo.stderr.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => demo.on('exit', resolve));
  for (const engine of ['Chromium', 'Firefox', 'WebKit']) {
    assert.match(
      output,
      new RegExp(
        `headless ${engine}:\\n  engine in the page +TLSv1\\.3 .*echo: "hello from ${engine}"\\n  engine in the worker TLSv1\\.3 .*echo: "hello from ${engine} \\(worker\\)"`,
      ),
      output,
    );
  }
  assert.equal(code, 0, output);
});
