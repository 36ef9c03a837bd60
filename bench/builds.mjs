#!/usr/bin/env node
// node bench/builds.mjs [--rounds N] [--seconds S]
// The PSK build (openssl-psk-wasm) against the full build (openssl-psk-wasm/full): the in-memory
// figures of `npm run bench` in Node (handshakes/s of each kind, bulk MB/s of each TLS 1.3
// suite, through the facade), measured in alternating rounds (PSK, full, PSK, full, …) so
// that a loaded machine's drift falls on both; each figure's median over the rounds, its
// spread (min-max over median) and the ratio PSK/full. A trimming lever may cost at most 3%.
import { HANDSHAKES, SUITES, facadeBulk, facadeHandshakes } from './scenarios.mjs';
import * as psk from '../lib/index.js';
import * as full from '../lib/full.js';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const ROUNDS = option('--rounds', 3);
const SECONDS = option('--seconds', 1);

const builds = { psk: await psk.loadOpenSSL(), full: await full.loadOpenSSL() };
const figures = [
  ...HANDSHAKES.map((kind) => ({ name: `handshake ${kind} /s`, run: (ossl) => facadeHandshakes(ossl, kind, SECONDS) })),
  ...SUITES.map((suite) => ({ name: `bulk ${suite} MB/s`, run: (ossl) => facadeBulk(ossl, suite, SECONDS) / 1e6 })),
];
const results = Object.fromEntries(figures.map((f) => [f.name, { psk: [], full: [] }]));
for (const f of figures) for (const ossl of Object.values(builds)) f.run(ossl); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const f of figures) {
    for (const build of round % 2 ? ['full', 'psk'] : ['psk', 'full']) results[f.name][build].push(f.run(builds[build]));
  }
  process.stderr.write(`[builds] round ${round + 1}/${ROUNDS}\n`);
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const spread = (list) => (Math.max(...list) - Math.min(...list)) / median(list);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log(`${ROUNDS} alternating rounds of ${SECONDS} s per figure, Node ${process.version}`);
console.log(['figure', 'PSK build', 'spread', 'full build', 'spread', 'PSK/full'].join('\t'));
for (const [name, r] of Object.entries(results)) {
  const [p, f] = [median(r.psk), median(r.full)];
  console.log([name, p.toFixed(1), pct(spread(r.psk)), f.toFixed(1), pct(spread(r.full)), (p / f).toFixed(3)].join('\t'));
}
