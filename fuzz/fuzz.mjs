#!/usr/bin/env node
// Fuzzing the TLS engine with hostile input: `npm run fuzz -- [--count N] [--seconds S]
// [--seed X] [--save-corpus DIR]`; the same command then fuzzes the bridge's upgrade path
// (fuzz/bridge-fuzz.mjs: `--bridge-count N --bridge-seconds S`) and pskFetch's response
// handling (fuzz/http-fuzz.mjs: `--http-count N --http-seconds S`); `--only tls|bridge|http`.
// `npm run fuzz` builds and fuzzes the debug variant of the module (`--debug`: ./build.sh
// --debug, wasm/dist-debug/, with emscripten's assertions and stack checks); `npm test` fuzzes
// the release build.
//
// Inputs are built from handshakes recorded here between a wasm client and server (TLS 1.3
// psk_dhe_ke and psk_ke, with shared sessions and with a new session per callback call as the
// man page has it, TLS 1.2 PSK and ECDHE-PSK): random bytes, and the recorded records
// truncated, duplicated, reordered, dropped, bit-flipped, resized or spliced, fed to a fresh
// client or server; and live sessions with one record mutated in flight (both sides see it).
// Every input must end in success or a TlsError: never another exception, a trap, a hang
// (each input has a step budget) or lost memory. Meanwhile a long-lived session on the same
// instance must keep working. Inputs that break these rules are "crashers": printed, saved
// with --save-corpus, and the run fails.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOpenSSL, TlsError } from '../lib/index.js';
import { loadBuild } from '../lib/tls/loader.js';
import { concat, createPair, pump } from '../test/helpers/pair.js';
import { prng } from './prng.mjs';

const KEY = new Uint8Array(32).fill(0x11);

/**
 * The scenarios whose handshakes are recorded and mutated: each handshake kind of the pair
 * harness, the library's defaults otherwise, and TLS 1.3 once more with a new session per
 * callback call, never freed here (the man page's ownership).
 */
const SCENARIOS = {
  'tls13-psk_dhe_ke': ['tls13-psk_dhe_ke', {}],
  'tls13-psk_ke': ['tls13-psk_ke', {}],
  'tls13-psk_dhe_ke-fresh-sessions': ['tls13-psk_dhe_ke', { fresh: true }],
  'tls12-psk': ['tls12-psk', { hint: 'hint' }],
  'tls12-ecdhe-psk-chacha': ['tls12-ecdhe-psk-chacha', {}],
};

function scenarios(ossl) {
  const pairs = {};
  const free = () => {
    for (const pair of Object.values(pairs)) pair.free();
  };
  try {
    for (const [name, [kind, options]] of Object.entries(SCENARIOS)) pairs[name] = createPair(ossl, kind, { key: KEY, identity: 'fuzz', ...options });
  } catch (error) {
    free();
    throw error;
  }
  return { pairs, free };
}

/** Runs a clean session, returning every chunk each side sent, in order. */
function record(pair) {
  const c = pair.client.createConnection();
  const s = pair.server.createConnection();
  const flights = [];
  const move = (from, to, side) => {
    const bytes = from.drain();
    if (bytes.length) {
      flights.push({ from: side, bytes });
      to.feed(bytes);
    }
  };
  pump(c, s, { move });
  s.read();
  c.write(new TextEncoder().encode('client application data'));
  move(c, s, 'client');
  s.read();
  s.write(new TextEncoder().encode('server application data'));
  move(s, c, 'server');
  c.read();
  c.free();
  s.free();
  return flights;
}

/** Splits bytes into TLS records (5-byte header + length); a tail that is no record stays whole. */
function records(bytes) {
  const out = [];
  let at = 0;
  while (at + 5 <= bytes.length) {
    const len = (bytes[at + 3] << 8) | bytes[at + 4];
    if (at + 5 + len > bytes.length) break;
    out.push(bytes.slice(at, at + 5 + len));
    at += 5 + len;
  }
  if (at < bytes.length) out.push(bytes.slice(at));
  return out;
}

/** The mutations of a list of records; each returns a new list. */
const MUTATIONS = {
  random: (rs, r) => [r.bytes(r.int(2000))],
  truncate: (rs, r) => {
    const all = concat(rs);
    return [all.subarray(0, r.int(all.length + 1))];
  },
  duplicate: (rs, r) => {
    const i = r.int(rs.length);
    return [...rs.slice(0, i + 1), rs[i], ...rs.slice(i + 1)];
  },
  reorder: (rs, r) => {
    const out = [...rs];
    const i = r.int(out.length);
    const j = r.int(out.length);
    [out[i], out[j]] = [out[j], out[i]];
    return out;
  },
  drop: (rs, r) => rs.filter((_, i) => i !== r.int(rs.length)),
  bitflip: (rs, r) => {
    const out = rs.map((x) => x.slice());
    for (let k = 1 + r.int(8); k > 0; k--) {
      const rec = out[r.int(out.length)];
      if (rec.length) rec[r.int(rec.length)] ^= 1 << r.int(8);
    }
    return out;
  },
  header: (rs, r) => {
    const out = rs.map((x) => x.slice());
    const rec = out[r.int(out.length)];
    if (rec.length >= 5) {
      const at = r.int(5);
      rec.set(r.bytes(1 + r.int(5 - at)), at);
    }
    return out;
  },
  resize: (rs, r) => {
    const out = rs.map((x) => x.slice());
    const rec = out[r.int(out.length)];
    if (rec.length >= 5) {
      const len = r.int(3) === 0 ? 0xffff : r.int(rec.length * 2);
      rec[3] = len >> 8;
      rec[4] = len & 0xff;
    }
    return out;
  },
  insert: (rs, r) => {
    const body = r.bytes(r.int(300));
    const rec = Uint8Array.from([[20, 21, 22, 23][r.int(4)], 3, 3, body.length >> 8, body.length & 0xff, ...body]);
    const i = r.int(rs.length + 1);
    return [...rs.slice(0, i), rec, ...rs.slice(i)];
  },
};

const STEP_BUDGET = 64;

/** Drives one connection with the given chunks; returns 'success' or a TlsError code, or throws a crasher. */
function feedOne(conn, chunks) {
  let steps = 0;
  const step = () => {
    if (++steps > STEP_BUDGET) throw new Crasher('hang: step budget exceeded');
  };
  try {
    if (!conn.handshakeDone) conn.handshake();
    conn.drain();
    for (const chunk of chunks) {
      step();
      conn.feed(chunk);
      if (!conn.handshakeDone) conn.handshake();
      while (conn.handshakeDone && conn.read() !== null) step();
      conn.drain();
    }
    conn.feedEnd();
    if (!conn.handshakeDone) conn.handshake();
    while (conn.read() !== null) step();
    return 'success';
  } catch (error) {
    return outcomeOf(error);
  }
}

/** A live session with one record mutated in flight; returns both sides' outcomes. */
function liveOne(pair, mutate, r) {
  const c = pair.client.createConnection();
  const s = pair.server.createConnection();
  let flight = 0;
  const target = r.int(6);
  const outcome = { client: 'success', server: 'success' };
  const guard = (side, fn) => {
    if (outcome[side] !== 'success') return;
    try {
      fn();
    } catch (error) {
      outcome[side] = outcomeOf(error);
    }
  };
  try {
    for (let i = 0; i < 12; i++) {
      guard('client', () => (c.handshakeDone ? c.read() : c.handshake()));
      let bytes = c.drain();
      if (bytes.length && flight++ === target) bytes = concat(mutate(records(bytes), r));
      guard('server', () => (s.feed(bytes), s.handshakeDone ? s.read() : s.handshake()));
      bytes = s.drain();
      if (bytes.length && flight++ === target) bytes = concat(mutate(records(bytes), r));
      guard('client', () => c.feed(bytes));
      if (c.handshakeDone && s.handshakeDone && i > 2) break;
    }
  } finally {
    c.free();
    s.free();
  }
  return outcome;
}

class Crasher extends Error {}

function outcomeOf(error) {
  if (error instanceof Crasher) throw error;
  if (!(error instanceof TlsError)) throw new Crasher(`an untyped ${error?.constructor?.name ?? typeof error}: ${error?.message ?? error}`);
  if (error.code === 'ERR_WASM_TRAP') throw new Crasher(`a trap: ${error.message}`);
  return error.code;
}

/** Runs the fuzzer; resolves with a summary. Throws nothing: crashers are in the summary. */
export async function fuzz({ count = 20000, seconds = 60, seed = Date.now() & 0xffffffff, saveCorpus = null, debug = false, log = () => {} } = {}) {
  const r = prng(seed);
  const ossl = debug ? await loadDebugBuild() : await loadOpenSSL();
  const { pairs, free } = scenarios(ossl);
  const recorded = Object.fromEntries(Object.entries(pairs).map(([name, pair]) => [name, record(pair)]));

  // A long-lived session that must keep working throughout.
  const canary = { client: pairs['tls13-psk_dhe_ke'].client.createConnection(), server: pairs['tls13-psk_dhe_ke'].server.createConnection() };
  liveCheck(canary, true);
  const baseline = ossl.heapStats().inUseBytes;
  const outcomes = {};
  const crashers = [];
  const corpus = new Map();
  let peakHeap = baseline;
  const started = Date.now();
  let inputs = 0;

  for (; inputs < count && Date.now() - started < seconds * 1000; inputs++) {
    const names = Object.keys(pairs);
    const scenario = names[r.int(names.length)];
    const mutationNames = Object.keys(MUTATIONS);
    const mutation = mutationNames[r.int(mutationNames.length)];
    const mode = ['server', 'client', 'live'][r.int(3)];
    const input = { seed, index: inputs, scenario, mutation, mode };
    try {
      if (mode === 'live') {
        const result = liveOne(pairs[scenario], MUTATIONS[mutation], r);
        count1(outcomes, `client ${result.client}`);
        count1(outcomes, `server ${result.server}`);
      } else {
        const from = mode === 'server' ? 'client' : 'server';
        const chunks = MUTATIONS[mutation](
          recorded[scenario].filter((f) => f.from === from).flatMap((f) => records(f.bytes)),
          r,
        );
        const conn = pairs[scenario][mode].createConnection();
        let result;
        try {
          result = feedOne(conn, chunks);
        } finally {
          conn.free();
        }
        count1(outcomes, `${mode} ${result}`);
        // One input per kind of input and outcome other than success, for the regression corpus.
        if (result !== 'success')
          keep(corpus, `${mode}/${mutation}`, { ...input, outcome: result, chunks: chunks.map((c) => Buffer.from(c).toString('base64')) });
      }
    } catch (error) {
      crashers.push({ ...input, problem: error.message });
      log(`CRASHER ${JSON.stringify(input)}: ${error.message}`);
      if (/trap/.test(error.message)) break; // the instance is gone
    }
    if (inputs % 200 === 199) {
      peakHeap = Math.max(peakHeap, ossl.heapStats().inUseBytes);
      const problem =
        liveCheck(canary, false) ?? (ossl.heapStats().inUseBytes !== baseline ? `memory grew to ${ossl.heapStats().inUseBytes} from ${baseline}` : null);
      if (problem) {
        crashers.push({ ...input, problem });
        log(`PROBLEM after input ${inputs}: ${problem}`);
        break;
      }
    }
  }
  const canaryProblem = liveCheck(canary, false);
  if (canaryProblem) crashers.push({ seed, index: inputs, problem: canaryProblem });
  const heapInUseEnd = ossl.heapStats().inUseBytes;
  if (heapInUseEnd !== baseline) crashers.push({ seed, index: inputs, problem: `memory grew to ${heapInUseEnd} from ${baseline}` });
  canary.client.free();
  canary.server.free();
  free();
  if (saveCorpus) saveInputs(saveCorpus, [...corpus.values(), ...crashers]);
  return {
    seed,
    inputs,
    seconds: (Date.now() - started) / 1000,
    outcomes,
    crashers,
    heapInUseBaseline: baseline,
    heapInUseEnd,
    peakHeapInUse: peakHeap,
    memoryBytes: ossl.heapStats().memoryBytes,
  };
}

/** An instance of the debug variant of the module (./build.sh --debug). */
async function loadDebugBuild() {
  const dir = new URL('../wasm/dist-debug/', import.meta.url);
  // Its glue is built for Node too (the assertions check the environment), and there it reads
  // CommonJS's require and __dirname, which an ES module does not have.
  globalThis.require ??= createRequire(import.meta.url);
  globalThis.__dirname ??= fileURLToPath(dir);
  const { default: glue } = await import(new URL('openssl-psk-full.mjs', dir).href);
  return loadBuild({ glue, wasmUrl: () => new URL('openssl-psk-full.wasm', dir), certificates: true });
}

/** One exchange on the long-lived session; returns a problem, or null. */
function liveCheck({ client, server }, first) {
  try {
    if (first) pump(client, server);
    const message = new TextEncoder().encode(`canary ${Math.random()}`);
    client.write(message);
    server.feed(client.drain());
    const got = server.read();
    client.feed(server.drain());
    if (!got || Buffer.compare(Buffer.from(got), Buffer.from(message)) !== 0) return 'the long-lived session lost its data';
    return null;
  } catch (error) {
    return `the long-lived session failed: ${error.message}`;
  }
}

function count1(map, key) {
  map[key] = (map[key] ?? 0) + 1;
}

function keep(corpus, key, input) {
  if (!corpus.has(key)) corpus.set(key, input);
}

function saveInputs(dir, inputs) {
  mkdirSync(dir, { recursive: true });
  for (const input of inputs) {
    if (!input.chunks) continue; // live inputs replay from their seed, not from bytes
    const name = createHash('sha256').update(JSON.stringify(input.chunks)).digest('hex').slice(0, 16);
    writeFileSync(join(dir, `${input.mode}-${input.mutation}-${name}.json`), JSON.stringify(input, null, 1) + '\n');
  }
}

/** Replays a saved input against a fresh connection of `ossl`; returns 'success' or a code. */
export function replay(ossl, input) {
  const { pairs, free } = scenarios(ossl);
  const conn = pairs[input.scenario][input.mode].createConnection();
  try {
    return feedOne(
      conn,
      input.chunks.map((c) => new Uint8Array(Buffer.from(c, 'base64'))),
    );
  } finally {
    conn.free();
    free();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Both fuzzers: the TLS engine (--count, --seconds) and the bridge's upgrade path
  // (--bridge-count, --bridge-seconds; fuzz/bridge-fuzz.mjs) and pskFetch's responses
  // (--http-count, --http-seconds; fuzz/http-fuzz.mjs); --only tls|bridge|http runs one.
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  const only = arg('--only', null);
  const seed = Number(arg('--seed', Date.now() & 0xffffffff));
  const log = (line) => console.error(line);
  let failed = false;
  if (only === null || only === 'tls') {
    const summary = await fuzz({
      count: Number(arg('--count', 20000)),
      seconds: Number(arg('--seconds', 60)),
      seed,
      saveCorpus: arg('--save-corpus', null),
      debug: process.argv.includes('--debug'),
      log,
    });
    console.log(JSON.stringify(summary, null, 2));
    failed ||= summary.crashers.length > 0;
  }
  if (only === null || only === 'bridge') {
    const { fuzzBridge } = await import('./bridge-fuzz.mjs');
    const summary = await fuzzBridge({ count: Number(arg('--bridge-count', 20000)), seconds: Number(arg('--bridge-seconds', 60)), seed, log });
    console.log(JSON.stringify({ bridge: summary }, null, 2));
    failed ||= summary.crashes.length > 0 || !Object.values(summary.servedAfter).every(Boolean);
  }
  if (only === null || only === 'http') {
    const { fuzzHttp } = await import('./http-fuzz.mjs');
    const summary = await fuzzHttp({ count: Number(arg('--http-count', 2000)), seconds: Number(arg('--http-seconds', 60)), seed, log });
    console.log(JSON.stringify({ http: summary }, null, 2));
    failed ||= summary.crashers.length > 0 || summary.leftOpen > 0;
  }
  if (failed) process.exitCode = 1;
}
