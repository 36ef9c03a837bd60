#!/usr/bin/env node
// Leak soak: create-use-free cycles against one OpenSSL instance, measuring the allocator's
// in-use bytes (mallinfo) after a warm-up, after every cycle, and at the end. A leak shows as
// growth. The test suite runs this with small counts (test/leaks.test.js); `npm run soak` runs
// 10,000 cycles of each kind, and 100,000 of the man page's ownership pattern (sessions made in
// the callbacks and never freed by the application), which must stay within 2 MB of the
// warm-up level throughout, without forced garbage collection.
//   node bench/soak.mjs [--cycles N] [--json FILE]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { acceptTls, connectTls, loadOpenSSL } from '../lib/index.js';
import { createPair, pump, transfer } from '../test/helpers/pair.js';

const KEY = new Uint8Array(32).fill(0x5c);
const PAYLOAD = new Uint8Array(1000).fill(1);

function echo(from, to) {
  const got = transfer(from, to, PAYLOAD).length;
  if (got !== PAYLOAD.length) throw new Error(`sent ${PAYLOAD.length}, received ${got}`);
}

/** The kinds of cycle: one cycle (calling `sample()` while its objects are alive), and a cleanup. */
function kinds(ossl) {
  const psk = { key: KEY, identity: 'soak' };
  // The man page's pattern: "Ownership of the SSL_SESSION object is passed to the OpenSSL
  // library and so it should not be freed by the application."
  const manPage = handshakes('tls13-psk_dhe_ke', { ...psk, fresh: true });
  function handshakes(kind, options) {
    const pair = createPair(ossl, kind, options);
    return {
      cycle(sample) {
        const c = pair.client.createConnection();
        const s = pair.server.createConnection();
        pump(c, s);
        echo(c, s);
        echo(s, c);
        sample();
        c.free();
        s.free();
      },
      done: () => pair.free(),
    };
  }
  return {
    'TLS 1.3 handshake + data + free': handshakes('tls13-psk_dhe_ke', psk),
    'TLS 1.2 handshake + data + free': handshakes('tls12-psk', psk),
    // Ten times the cycles, each followed by a turn of the event loop, as a real client and
    // server take one between handshakes (when finalizers may run; nothing here relies on them).
    'TLS 1.3 handshake, sessions made in the callbacks and never freed': {
      scale: 10,
      async cycle(sample) {
        manPage.cycle(sample);
        await new Promise((resolve) => setImmediate(resolve));
      },
      done: manPage.done,
    },
    'PSK session new + free': {
      cycle: () => ossl.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_256_GCM_SHA384', maxEarlyData: 1024 }).free(),
      done() {},
    },
    'context new + free': {
      cycle() {
        ossl.createContext({ role: 'client', pskUseSession: () => null, groups: ['X25519', 'P-256'] }).free();
        ossl.createContext({ role: 'server', pskFindSession: () => null, pskIdentityHint: 'h', maxEarlyData: 1024 }).free();
      },
      done() {},
    },
    'socket over a stream pair, open + data + close': {
      async cycle(sample) {
        const ab = new TransformStream();
        const ba = new TransformStream();
        const psk = { identity: 'soak', key: KEY };
        const client = connectTls({ readable: ba.readable, writable: ab.writable }, { psk, openssl: ossl });
        const server = acceptTls({ readable: ab.readable, writable: ba.writable }, { psk, openssl: ossl });
        await Promise.all([client.opened, server.opened]);
        const writer = client.writable.getWriter();
        await writer.write(PAYLOAD);
        writer.releaseLock();
        const { value } = await server.readable.getReader().read();
        if (value.length !== PAYLOAD.length) throw new Error('short read');
        sample();
        await Promise.all([client.close(), server.close()]);
      },
      done() {},
    },
  };
}

/** Runs `cycles` cycles of each kind (after `warmup`); resolves with one row per kind. */
export async function runSoak({ cycles = 10000, warmup = 100, only } = {}) {
  const ossl = await loadOpenSSL();
  const rows = [];
  for (const [name, kind] of Object.entries(kinds(ossl))) {
    if (only && !only.includes(name)) continue;
    const none = () => {};
    for (let i = 0; i < warmup; i++) await kind.cycle(none);
    const warm = ossl.heapStats().inUseBytes;
    let peak = warm; // with a cycle's objects alive
    let highest = warm; // between cycles
    const sample = () => (peak = Math.max(peak, ossl.heapStats().inUseBytes));
    const count = cycles * (kind.scale ?? 1);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      await kind.cycle(i % 64 === 0 ? sample : none);
      highest = Math.max(highest, ossl.heapStats().inUseBytes);
    }
    const seconds = (performance.now() - started) / 1000;
    const end = ossl.heapStats().inUseBytes;
    rows.push({
      kind: name,
      cycles: count,
      warmInUse: warm,
      endInUse: end,
      growth: end - warm,
      highestBetweenCycles: highest - warm,
      peakInUse: peak,
      memoryBytes: ossl.heapStats().memoryBytes,
      perSecond: Math.round(count / seconds),
    });
    kind.done();
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  const rows = await runSoak({ cycles: Number(arg('--cycles', 10000)) });
  console.table(rows);
  const json = arg('--json');
  if (json) writeFileSync(json, JSON.stringify(rows, null, 2));
  if (rows.some((r) => r.growth !== 0 || r.highestBetweenCycles > 2 << 20)) {
    console.error('in-use bytes grew: a leak');
    process.exitCode = 1;
  }
}
