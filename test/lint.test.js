// The code's layout and lint, as a test so that `npm test` reports it with the others:
// `npm run lint` runs ESLint, Prettier's check and clang-format's; `npm run format` lays it out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('..', import.meta.url);

test('npm run lint: ESLint, Prettier and clang-format find nothing to change', { timeout: 180_000 }, () => {
  const r = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm run lint failed (npm run format fixes the layout):\n${r.stdout}${r.stderr}`);
});
