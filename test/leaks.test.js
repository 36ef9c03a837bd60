// No leaks: create-use-free cycles of handshakes (TLS 1.2 and 1.3), sessions, contexts and
// sockets leave the allocator's in-use bytes exactly at their warm-up level, and so do 3,000
// handshakes whose callbacks make a new session per call and never free it (the man page's
// ownership). The same code runs 10,000 cycles (100,000 of the latter) in `npm run soak`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from '../bench/soak.mjs';

test('300 cycles of each kind (3,000 of the man page pattern): in-use bytes back at the warm-up level, never 2 MB above it', async () => {
  const rows = await runSoak({ cycles: 300, warmup: 50 });
  assert.equal(rows.length, 6);
  for (const row of rows) {
    assert.equal(row.growth, 0, `${row.kind}: ${JSON.stringify(row)}`);
    assert.ok(row.highestBetweenCycles <= 2 << 20, `${row.kind}: ${JSON.stringify(row)}`);
  }
  const manPage = rows.find((row) => row.kind.includes('never freed'));
  assert.equal(manPage.cycles, 3000);
  console.log(
    `# man page pattern: ${manPage.cycles} handshakes, in-use ${manPage.growth} bytes above warm-up at the end, at most ${manPage.highestBetweenCycles} between handshakes`,
  );
});
