// No leaks: create-use-free cycles of handshakes (TLS 1.2 and 1.3), sessions, contexts and
// sockets leave the allocator's in-use bytes exactly at their warm-up level. The same code runs
// 10,000 cycles in `npm run soak` (bench/soak.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from '../bench/soak.mjs';

test('300 cycles of each kind: in-use bytes back at the warm-up level', async () => {
  const rows = await runSoak({ cycles: 300, warmup: 50 });
  assert.equal(rows.length, 5);
  for (const row of rows) assert.equal(row.growth, 0, `${row.kind}: ${JSON.stringify(row)}`);
});
