// Hostile input: the saved fuzz corpus (test/fuzz-corpus/, inputs made by `npm run fuzz --
// --save-corpus`, crashers included when there are any) replayed, and a short fuzz run.
// Every input ends in success or a TlsError; the module never traps; no memory is lost; other
// sessions of the instance go on.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fuzz, replay } from '../fuzz/fuzz.mjs';
import { loadOpenSSL } from '../lib/index.js';
import { createPair, handshake, owner, str, text, transfer } from './helpers/pair.js';

const corpusDir = new URL('./fuzz-corpus/', import.meta.url);

test('every input of the saved corpus ends in success or a typed error, and the instance goes on', async (t) => {
  const ossl = await loadOpenSSL();
  const own = owner(t);
  const files = readdirSync(corpusDir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 10, 'a corpus exists');
  const pair = own(createPair(ossl, 'tls13-psk_dhe_ke', { key: new Uint8Array(32).fill(3), identity: 'x' }));
  const c = own(pair.client.createConnection());
  const s = own(pair.server.createConnection());
  handshake(c, s);
  transfer(c, s, text('warm-up')); // the client takes in its tickets here
  const baseline = ossl.heapStats().inUseBytes;
  for (const file of files) {
    const input = JSON.parse(readFileSync(new URL(file, corpusDir), 'utf8'));
    const outcome = replay(ossl, input); // throws on an untyped error or a trap
    assert.match(outcome, /^(success|ERR_[A-Z_]+)$/, file);
    assert.equal(str(transfer(c, s, text(file))), file, 'the other session still works');
  }
  assert.equal(ossl.heapStats().inUseBytes, baseline);
});

test('a short fuzz run on the debug build (emscripten assertions, stack checks): no crasher, no lost memory', async () => {
  const summary = await fuzz({ count: 1000, seconds: 20, seed: 0xdeb6, debug: true });
  assert.deepEqual(summary.crashers, []);
  assert.equal(summary.heapInUseEnd, summary.heapInUseBaseline);
  assert.ok(summary.inputs >= 500, `${summary.inputs} inputs`);
});

test('a short fuzz run (3000 inputs): no crasher, no lost memory, the long-lived session intact', async () => {
  const summary = await fuzz({ count: 3000, seconds: 20, seed: 0x5eed });
  assert.deepEqual(summary.crashers, []);
  assert.equal(summary.heapInUseEnd, summary.heapInUseBaseline);
  assert.ok(summary.inputs >= 1000, `${summary.inputs} inputs`);
  const kinds = Object.keys(summary.outcomes);
  assert.ok(kinds.some((k) => k.endsWith('success')) && kinds.length >= 8, kinds.join(', '));
});
