// The measurements of `npm run bench` that run inside one JavaScript environment. The same file
// runs in Node (bench/bench.mjs) and in headless Chromium (bench/page.html), so both measure
// exactly the same work. Nothing here imports the library: the caller passes it in.
import { KINDS, createPair, pairOptions, pump } from '../test/helpers/pair.js';

export const HANDSHAKES = KINDS;
export const SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
export const BULK_WRITE = 16384;
/** Measured in C only (the facade has no X25519 of its own): the lever of psk_dhe_ke handshakes. */
export const PRIMITIVES = ['x25519 keygen', 'x25519 derive'];

const KEY = new Uint8Array(32).fill(0x5c);
const IDENTITY = 'bench';
const now = () => performance.now() / 1000;

/** `promise`, or a rejection after `seconds`: nothing in the benchmark waits without bound. */
export function within(promise, seconds, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `fn(seconds)` once for `warmup` seconds, then `repeats` times; the median result. */
export function median3(fn, { seconds, warmup }) {
  fn(warmup);
  const results = [fn(seconds), fn(seconds), fn(seconds)].sort((a, b) => a - b);
  return results[1];
}

/** A scenario's PSK, with the same choices as bench/native/bench.c (see pairOptions). */
const pskOf = (suite) => ({ key: KEY, identity: IDENTITY, suite, pinned: true });

/** A context for one side of a scenario (for the socket figures): { context, free() }. */
export function sideContext(ossl, side, scenario, suite = 'TLS_AES_128_GCM_SHA256') {
  const options = pairOptions(ossl, scenario, pskOf(suite));
  const context = ossl.createContext(options[side]);
  return { context, free: () => (context.free(), options.sessions.forEach((s) => s.free())) };
}

const wire = new Uint8Array(2 * BULK_WRITE);

/** Moves what `from` has for the peer into `to`, through a reused buffer (as bench.c's shared BIOs do without). */
function move(from, to) {
  for (let n; (n = from.drainInto(wire)) > 0;) to.feed(wire.subarray(0, n));
}

/** A client and a server connection with the handshake completed over memory. */
function connectPair(pair) {
  const c = pair.client.createConnection();
  const s = pair.server.createConnection();
  pump(c, s, { move });
  if (c.protocol === 'TLSv1.3' && !c.sessionReused) throw new Error('the PSK was not used');
  return [c, s];
}

/** Facade: complete handshakes per second. */
export function facadeHandshakes(ossl, scenario, seconds) {
  const pair = createPair(ossl, scenario, pskOf('TLS_AES_128_GCM_SHA256'));
  const start = now();
  const end = start + seconds;
  let count = 0;
  try {
    do {
      const [c, s] = connectPair(pair);
      c.free();
      s.free();
      count++;
    } while (now() < end);
  } finally {
    pair.free();
  }
  return count / (now() - start);
}

/**
 * Facade: client-to-server plaintext bytes per second in 16 KiB writes. By default through
 * drainInto() and readInto() with buffers reused, as bench.c reuses its own; with
 * `allocating`, through drain() and read(), which return a new buffer each time.
 */
export function facadeBulk(ossl, suite, seconds, { allocating = false } = {}) {
  const pair = createPair(ossl, 'tls13-psk_dhe_ke', pskOf(suite));
  const [c, s] = connectPair(pair);
  const plain = new Uint8Array(BULK_WRITE).fill(0x42);
  const got = new Uint8Array(BULK_WRITE);
  const send = allocating ? () => s.feed(c.drain()) : () => move(c, s);
  const receive = allocating ? () => s.read()?.length ?? null : () => s.readInto(got);
  const start = now();
  const end = start + seconds;
  let bytes = 0;
  try {
    do {
      c.write(plain);
      send();
      let total = 0;
      for (let n; total < BULK_WRITE && (n = receive()) !== null;) total += n;
      if (total !== BULK_WRITE) throw new Error(`wrote ${BULK_WRITE} bytes, read ${total}`);
      bytes += total;
    } while (now() < end);
  } finally {
    c.free();
    s.free();
    pair.free();
  }
  return bytes / (now() - start);
}

/**
 * The raw C benchmark (bench/native/bench.c) compiled to wasm: `createBench` is the emscripten
 * factory from bench/dist/bench-wasm.mjs, `module` its compiled WebAssembly.Module.
 */
export async function loadRawBench(createBench, module) {
  const errors = [];
  const instance = await createBench({
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(module, imports).then((i) => receive(i, module));
      return {};
    },
    print: (line) => errors.push(line),
    printErr: (line) => errors.push(line),
  });
  const call = (name, types, args) => {
    try {
      return instance.ccall(name, 'number', types, args);
    } catch (error) {
      throw new Error(`${name}: ${error.message}; ${errors.join(' ')}`, { cause: error });
    }
  };
  if (!call('bench_init', [], [])) throw new Error(`bench_init failed: ${errors.join(' ')}`);
  return {
    handshakes: (scenario, seconds) => call('bench_handshakes', ['string', 'number'], [scenario, seconds]),
    bulk: (suite, seconds) => call('bench_bulk', ['string', 'number'], [suite, seconds]),
    x25519: (op, seconds) => call('bench_x25519', ['string', 'number'], [op, seconds]),
    selftest: () => call('bench_selftest', [], []) === 1,
  };
}

/** Every in-memory figure for one environment: raw C in wasm and the facade, side by side. */
export function memoryFigures(ossl, raw, timing) {
  const figures = PRIMITIVES.map((name) => ({
    name,
    unit: 'ops/s',
    raw: median3((t) => raw.x25519(name.split(' ')[1], t), timing),
  }));
  for (const scenario of HANDSHAKES) {
    figures.push({
      name: `handshake ${scenario}`,
      unit: 'handshakes/s',
      raw: median3((t) => raw.handshakes(scenario, t), timing),
      facade: median3((t) => facadeHandshakes(ossl, scenario, t), timing),
    });
  }
  for (const suite of SUITES) {
    figures.push({
      name: `bulk ${suite}`,
      unit: 'MB/s',
      raw: median3((t) => raw.bulk(suite, t), timing) / 1e6,
      facade: median3((t) => facadeBulk(ossl, suite, t), timing) / 1e6,
      facadeAllocating: median3((t) => facadeBulk(ossl, suite, t, { allocating: true }), timing) / 1e6,
    });
  }
  return figures;
}

/** loadOpenSSL() in ms: cold (compile + instantiate + seed) and with a compiled module. */
export async function loadTimes(api, wasmBytes, rounds = 5) {
  const cold = [];
  const cached = [];
  const module = await api.compileOpenSSL({ wasmBinary: wasmBytes });
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await api.loadOpenSSL({ module: await api.compileOpenSSL({ wasmBinary: wasmBytes }) });
    cold.push(performance.now() - t);
    t = performance.now();
    await api.loadOpenSSL({ module });
    cached.push(performance.now() - t);
  }
  const med = (list) => list.sort((a, b) => a - b)[list.length >> 1];
  return { cold: med(cold), cached: med(cached) };
}

/**
 * Wasm heap bytes per idle established connection: `count` TLS 1.3 PSK connections open at
 * once, clients in one instance and servers in another, handshake done and application data
 * exchanged. Measured with the allocator's own in-use bytes.
 */
export async function heapPerConnection(api, module, count) {
  const clientSide = await api.loadOpenSSL({ module });
  const serverSide = await api.loadOpenSSL({ module });
  const session = (ossl) => ossl.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_128_GCM_SHA256' });
  const clientSession = session(clientSide);
  const serverSession = session(serverSide);
  const clientCtx = clientSide.createContext({ role: 'client', minVersion: 'TLSv1.3', pskUseSession: () => ({ identity: IDENTITY, session: clientSession }) });
  const serverCtx = serverSide.createContext({ role: 'server', minVersion: 'TLSv1.3', pskFindSession: () => serverSession });
  const pair = { client: clientCtx, server: serverCtx };
  const before = [clientSide.heapStats().inUseBytes, serverSide.heapStats().inUseBytes];
  const open = [];
  const hello = new Uint8Array(100).fill(1);
  for (let i = 0; i < count; i++) {
    const [c, s] = connectPair(pair);
    c.write(hello);
    s.feed(c.drain());
    while (s.read());
    s.write(hello);
    c.feed(s.drain());
    while (c.read());
    open.push(c, s);
  }
  const after = [clientSide.heapStats().inUseBytes, serverSide.heapStats().inUseBytes];
  for (const conn of open) conn.free();
  clientCtx.free();
  serverCtx.free();
  clientSession.free();
  serverSession.free();
  return { client: (after[0] - before[0]) / count, server: (after[1] - before[1]) / count, connections: count };
}

/**
 * Through the full stack: what a client does over a socket. `target()` gives a fresh target
 * for connectTls (a ws:// URL through the bridge); `context` is a client context.
 */
export const SOCKET_CASES = [
  { name: 'handshake tls13-psk_dhe_ke', unit: 'handshakes/s', scenario: 'tls13-psk_dhe_ke', suite: 'TLS_AES_128_GCM_SHA256', group: 'X25519' },
  { name: 'handshake tls13-psk_ke', unit: 'handshakes/s', scenario: 'tls13-psk_ke', suite: 'TLS_AES_128_GCM_SHA256', group: null },
  { name: 'handshake tls12-psk', unit: 'handshakes/s', scenario: 'tls12-psk', group: null },
  { name: 'handshake tls12-ecdhe-psk-chacha', unit: 'handshakes/s', scenario: 'tls12-ecdhe-psk-chacha', group: 'X25519' },
  { name: 'bulk TLS_AES_128_GCM_SHA256', unit: 'MB/s', scenario: 'tls13-psk_dhe_ke', suite: 'TLS_AES_128_GCM_SHA256', bulk: true },
  { name: 'bulk TLS_CHACHA20_POLY1305_SHA256', unit: 'MB/s', scenario: 'tls13-psk_dhe_ke', suite: 'TLS_CHACHA20_POLY1305_SHA256', bulk: true },
];

/**
 * Sequential connect, handshake, close_notify both ways: handshakes per second. `group` is
 * the key exchange group every handshake must report (null: none, as psk_ke and TLS 1.2 PSK).
 */
export async function socketHandshakes(api, target, context, seconds, group) {
  const start = now();
  const end = start + seconds;
  let count = 0;
  do {
    const socket = api.connectTls(target(), { context });
    const info = await within(socket.opened, 30, 'a handshake over the socket');
    if (group !== undefined && info.keyExchangeGroup !== group) {
      throw new Error(`expected key exchange ${group ?? 'none'}, the handshake used ${info.keyExchangeGroup ?? 'none'}`);
    }
    await within(socket.close(), 30, 'closing the socket');
    count++;
  } while (now() < end);
  return count / (now() - start);
}

/**
 * 16 KiB writes for `seconds`, then close_notify; the time runs until the peer's close_notify,
 * which it sends only after reading everything before it. Plaintext bytes per second.
 */
export async function socketBulk(api, target, context, seconds) {
  const socket = api.connectTls(target(), { context });
  await within(socket.opened, 30, 'the handshake over the socket');
  const plain = new Uint8Array(BULK_WRITE).fill(0x42);
  const writer = socket.writable.getWriter();
  const drained = socket.readable.pipeTo(new WritableStream());
  const start = now();
  const end = start + seconds;
  let bytes = 0;
  do {
    await within(writer.write(plain), 30, 'a 16 KiB write to the socket');
    bytes += plain.length;
  } while (now() < end);
  await within(Promise.all([writer.close(), drained, socket.closed]), 30, 'closing the socket after the bulk data');
  return bytes / (now() - start);
}

export async function median3Async(fn, { seconds, warmup }) {
  await fn(warmup);
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await fn(seconds));
  return results.sort((a, b) => a - b)[1];
}

/**
 * The socket figures of one client environment against the servers in `urls` (by case and
 * server); `only`, if given, picks cases and servers: { cases: [names], servers: [names] }.
 */
export async function socketFigures(api, ossl, urls, timing, only) {
  const figures = [];
  for (const test of SOCKET_CASES.filter((c) => !only || only.cases.includes(c.name))) {
    for (const [server, url] of Object.entries(urls[test.name]).filter(([name]) => !only || only.servers.includes(name))) {
      const client = sideContext(ossl, 'client', test.scenario, test.suite);
      const run = test.bulk ? socketBulk : socketHandshakes;
      try {
        const value = await median3Async((t) => run(api, () => url, client.context, t, test.group), timing);
        figures.push({ name: `socket ${test.name} to ${server}`, unit: test.unit, value: test.bulk ? value / 1e6 : value });
      } finally {
        client.free();
      }
    }
  }
  return figures;
}

/**
 * The cases measured through the TLS worker (and, in Firefox and WebKit, in the page next to
 * them): a TLS 1.3 handshake and ChaCha20-Poly1305 bulk, to the acceptTls server.
 */
export const WORKER_CASES = ['handshake tls13-psk_dhe_ke', 'bulk TLS_CHACHA20_POLY1305_SHA256'];

/**
 * The same handshakes and bulk through a TLS worker, on each stream path in `streamsList`
 * ('transfer', 'port'): figures named `worker (<path>) socket <case> to acceptTls`.
 */
export async function workerFigures(createTlsWorker, urls, timing, streamsList, cases = WORKER_CASES) {
  const figures = [];
  for (const streams of streamsList) {
    const worker = await within(createTlsWorker({ streams }), 60, `starting a TLS worker (${streams})`);
    try {
      await worker.importPsk(IDENTITY, KEY.slice().buffer, { cipher: 'TLS_AES_128_GCM_SHA256' });
      for (const test of SOCKET_CASES.filter((c) => cases.includes(c.name))) {
        const options = { identity: IDENTITY, minVersion: 'TLSv1.3', ciphersuites: [test.suite], groups: ['X25519'] };
        const url = urls[test.name].acceptTls;
        const value = test.bulk
          ? await median3Async((t) => workerBulk(worker, url, options, t), timing)
          : await median3Async((t) => workerHandshakes(worker, url, options, t, test.group), timing);
        figures.push({ name: `worker (${streams}) socket ${test.name} to acceptTls`, unit: test.unit, value: test.bulk ? value / 1e6 : value });
      }
    } finally {
      worker.terminate();
    }
  }
  return figures;
}

async function workerHandshakes(worker, url, options, seconds, group) {
  const start = now();
  let count = 0;
  do {
    const socket = worker.connect(url, options);
    const info = await within(socket.opened, 30, 'a handshake through the worker');
    if (info.keyExchangeGroup !== group) throw new Error(`expected key exchange ${group}, the handshake used ${info.keyExchangeGroup ?? 'none'}`);
    await within(socket.close(), 30, 'closing the worker socket');
    count++;
  } while (now() < start + seconds);
  return count / (now() - start);
}

async function workerBulk(worker, url, options, seconds) {
  const socket = worker.connect(url, options);
  await within(socket.opened, 30, 'the handshake through the worker');
  const plain = new Uint8Array(BULK_WRITE).fill(0x42);
  const writer = socket.writable.getWriter();
  const drained = socket.readable.pipeTo(new WritableStream());
  const start = now();
  let bytes = 0;
  do {
    await within(writer.write(plain), 30, 'a 16 KiB write through the worker');
    bytes += plain.length;
  } while (now() < start + seconds);
  await within(Promise.all([writer.close(), drained, socket.closed]), 30, 'closing the worker socket after the bulk data');
  return bytes / (now() - start);
}

/**
 * The floor of the bulk figures: the same 16 KiB writes, client to server, over a plain
 * WebSocket through the same bridge to a TCP sink (plainSink in bench/bench.mjs), with the
 * same send-side backpressure as the library's transport (wait while more than 1 MiB is
 * queued). After the bulk a one-byte message 0x00 goes; the sink answers it with one byte once
 * it has read everything before it, and the time runs until that answer. `WebSocketClass`:
 * the page's WebSocket, or the `ws` package's in Node. Bytes per second.
 */
export async function plainBulk(WebSocketClass, url, seconds) {
  const ws = new WebSocketClass(url);
  ws.binaryType = 'arraybuffer';
  const answered = new Promise((resolve, reject) => {
    ws.onmessage = () => resolve();
    ws.onerror = () => reject(new Error(`the plain WebSocket to ${url} failed`));
    ws.onclose = () => reject(new Error(`the plain WebSocket to ${url} closed before the sink answered`));
  });
  answered.catch(() => {});
  await within(
    new Promise((resolve, reject) => {
      ws.onopen = resolve;
      answered.catch(reject);
    }),
    30,
    'opening a plain WebSocket',
  );
  const plain = new Uint8Array(BULK_WRITE).fill(0x42);
  const start = now();
  const end = start + seconds;
  let bytes = 0;
  do {
    ws.send(plain);
    bytes += plain.length;
    for (let wait = 1; ws.bufferedAmount > 1 << 20; wait = Math.min(wait * 2, 50)) await new Promise((resolve) => setTimeout(resolve, wait));
  } while (now() < end);
  ws.send(new Uint8Array(1));
  await within(answered, 30, 'the sink answering the plain bulk');
  const elapsed = now() - start;
  ws.onclose = null;
  ws.close(1000);
  return bytes / elapsed;
}

/** plainBulk's figure for one environment: `url` through the bridge to the TCP sink. */
export async function plainBulkFigure(WebSocketClass, url, timing) {
  const value = await median3Async((t) => plainBulk(WebSocketClass, url, t), timing);
  return { name: 'plain WebSocket bulk to a TCP sink', unit: 'MB/s', value: value / 1e6 };
}
