#!/usr/bin/env node
// Bridge load test, loopback only and bounded: N WebSocket clients at once, each sending its
// own pseudo-random bytes through the bridge to a TCP echo server and checking every byte that
// comes back. Reports throughput and the most the bridge held queued.
//   node bench/bridge-load.mjs [--tunnels N] [--mib-each M] [--json FILE]
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startBridge } from '../lib/node/bridge.js';

function data(seed, length) {
  const out = Buffer.alloc(length);
  let x = seed || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One tunnel: sends `bytes` in 16 KiB messages (respecting backpressure), reads the echo. */
async function tunnel(url, seed, length) {
  const payload = data(seed, length);
  const ws = new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  await once(ws, 'open');
  const received = [];
  let got = 0;
  const done = new Promise((resolve, reject) => {
    ws.on('message', (chunk) => {
      received.push(chunk);
      got += chunk.length;
      if (got >= length) resolve();
    });
    ws.on('close', (code) => (got >= length ? resolve() : reject(new Error(`closed with ${code} after ${got} of ${length} bytes`))));
    ws.on('error', reject);
  });
  for (let at = 0; at < length; at += 16384) {
    ws.send(payload.subarray(at, at + 16384));
    while (ws.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 1));
  }
  await done;
  ws.close(1000);
  const echo = Buffer.concat(received);
  return echo.length === length && createHash('sha256').update(echo).digest('hex') === createHash('sha256').update(payload).digest('hex');
}

/** Runs the load test; resolves with its figures. */
export async function bridgeLoad({ tunnels = 50, mibEach = 2 } = {}) {
  const echo = createServer((socket) => socket.on('error', () => {}).pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const target = `127.0.0.1:${echo.address().port}`;
  const bridge = await startBridge({ allow: [target], maxConnections: tunnels + 8 });
  let maxQueued = 0;
  const sampler = setInterval(() => {
    const s = bridge.stats();
    maxQueued = Math.max(maxQueued, s.queuedToClients + s.queuedToServers);
  }, 5);
  const length = Math.round(mibEach * (1 << 20));
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: tunnels }, (_, i) => tunnel(`${bridge.url}/${target}`, i + 1, length)));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await bridge.close(); // every tunnel closed: its bytes are in the totals
  const stats = bridge.stats();
  echo.close();
  const bytes = tunnels * length * 2;
  return {
    tunnels,
    bytesEachWay: tunnels * length,
    allBytesArrived: results.every(Boolean),
    seconds: Number(seconds.toFixed(3)),
    throughputMiBps: Number((bytes / (1 << 20) / seconds).toFixed(1)),
    maxQueuedInBridge: maxQueued,
    bridgeTotals: { opened: stats.opened, refused: stats.refused, evicted: stats.evicted, bytesUp: stats.bytesUp, bytesDown: stats.bytesDown },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  const result = await bridgeLoad({ tunnels: Number(arg('--tunnels', 50)), mibEach: Number(arg('--mib-each', 2)) });
  console.log(JSON.stringify(result, null, 2));
  const json = arg('--json');
  if (json) writeFileSync(json, JSON.stringify(result, null, 2));
  if (!result.allBytesArrived) process.exitCode = 1;
}
