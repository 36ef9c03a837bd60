#!/usr/bin/env node
// Fuzzing the bridge's upgrade path: `node fuzz/bridge-fuzz.mjs [--count N] [--seconds S]
// [--seed X]` (also run by `npm run fuzz`).
//
// Raw TCP requests to two bridges at once, one embedded (startBridge in this process) and one
// the command line runs (`openssl-psk-wasm bridge`, a child process), both with two allowed
// targets and an Origin list: WebSocket upgrades with random paths (malformed and overlong
// percent escapes, IPv6 brackets, query targets, non-ASCII), Origins (long, multibyte, empty),
// methods, versions, keys, protocols, X-Forwarded-For and junk headers; broken upgrades; plain
// HTTP; random bytes; and after an accepted upgrade, random frames. A "crash" is an exception
// that escapes a handler of the embedded bridge (caught here by process-wide listeners) or the
// command-line bridge exiting. Afterwards each bridge must still carry a legitimate tunnel.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startBridge } from '../lib/node/bridge.js';
import { prng } from './prng.mjs';

const CLI = fileURLToPath(new URL('../bin/openssl-psk-wasm.js', import.meta.url));
const GOOD_ORIGIN = 'http://good.example';

/** A path: pieces that trouble URL decoding and target parsing, joined at random. */
function randomPath(r, ports) {
  const pieces = [
    '%',
    '%E0%A4%A',
    '%zz',
    '%0',
    '%00',
    '%ff%fe',
    '%C3%28',
    '%F0%9F%98',
    '%2F',
    '%25',
    '%0d%0a',
    '/',
    '..',
    ':',
    '[',
    ']',
    '::1',
    '127.0.0.1',
    'localhost',
    String(ports[0]),
    String(ports[1]),
    '?target=',
    '&target=',
    '#',
    '@',
    'é',
    '\u2028',
    '☃',
    `127.0.0.1:${ports[0]}`,
    `[::ffff:127.0.0.1]:${ports[1]}`,
    'h'.repeat(1 + r.int(300)),
    '9'.repeat(1 + r.int(30)),
  ];
  // A fifth of the paths name an allowed target exactly, so that tunnels open and get frames.
  if (r.chance(0.2)) return r.pick([`/127.0.0.1:${ports[0]}`, `/?target=127.0.0.1:${ports[1]}`, `/%31%32%37.0.0.1:${ports[0]}`]);
  let path = '/';
  for (let n = r.int(8); n > 0; n--) {
    path += r.chance(0.15) ? encodeURIComponent(Buffer.from(r.bytes(1 + r.int(6))).toString('latin1')) : r.pick(pieces);
  }
  if (r.chance(0.05)) path += 'x'.repeat(2000 + r.int(6000));
  if (r.chance(0.05)) path = r.pick(['*', 'http://a:b:c', `ws://[${'f'.repeat(r.int(50))}`, '//', `http://127.0.0.1:${ports[0]}/`]);
  return path;
}

function randomOrigin(r) {
  if (r.chance(0.5)) return GOOD_ORIGIN;
  return r.pick([
    GOOD_ORIGIN,
    '',
    'null',
    `http://${'x'.repeat(90 + r.int(5000))}`,
    '€'.repeat(1 + r.int(200)),
    `${GOOD_ORIGIN}, ${GOOD_ORIGIN}`,
    Buffer.from(r.bytes(1 + r.int(200)).filter((b) => b >= 0x20 && b !== 0x7f)).toString('latin1'),
  ]);
}

/** A header value on the wire: strings as UTF-8 (Node reads them as latin1), never CR or LF. */
const wire = (value) => Buffer.from(String(value).replace(/[\r\n]/g, ' '), 'utf8');

/** One raw request: { bytes, upgrade } (upgrade: a WebSocket handshake that may be accepted). */
function randomRequest(r, ports) {
  const kind = r.int(10);
  if (kind === 0) return { bytes: Buffer.from(r.bytes(1 + r.int(3000))), upgrade: false };
  if (kind === 1) {
    const line = `${r.pick(['GET', 'POST', 'PUT', 'get', 'CONNECT', 'X'.repeat(r.int(40))])} ${randomPath(r, ports)} HTTP/${r.pick(['1.1', '1.0', '2.0', '9'])}`;
    return { bytes: Buffer.concat([wire(line), Buffer.from(`\r\nHost: x\r\n\r\n`)]), upgrade: false };
  }
  const broken = kind === 2 || kind === 3;
  const headers = [
    ['Host', r.chance(0.9) ? 'bridge' : 'x'.repeat(r.int(3000))],
    ['Upgrade', broken && r.chance(0.3) ? r.pick(['h2c', '', 'WebSocket, x']) : 'websocket'],
    ['Connection', broken && r.chance(0.3) ? r.pick(['close', 'keep-alive', '']) : 'Upgrade'],
    [
      'Sec-WebSocket-Key',
      broken && r.chance(0.3) ? r.pick(['', 'short', Buffer.from(r.bytes(16)).toString('hex')]) : Buffer.from(r.bytes(16)).toString('base64'),
    ],
    ['Sec-WebSocket-Version', broken && r.chance(0.3) ? r.pick(['8', '', '13, 13', '999999999999']) : '13'],
  ];
  if (r.chance(0.8)) headers.push(['Origin', randomOrigin(r)]);
  if (r.chance(0.2)) headers.push(['Origin', randomOrigin(r)]);
  if (r.chance(0.2)) headers.push(['Sec-WebSocket-Protocol', r.pick(['binary', 'base64', 'binary, binary', ',', 'a'.repeat(r.int(500)), 'x y'])]);
  if (r.chance(0.1)) headers.push(['Sec-WebSocket-Extensions', r.pick(['permessage-deflate', 'permessage-deflate; client_max_window_bits=99', ';;;'])]);
  if (r.chance(0.3)) headers.push(['X-Forwarded-For', r.pick(['10.0.0.1', '10.0.0.1, 127.0.0.1', 'garbage', '::1, ::1', '1.2.3.4,'.repeat(r.int(200))])]);
  if (r.chance(0.1)) headers.push([r.pick(['X', 'Bad Header', 'Ünï', '']), 'v'.repeat(r.int(100))]);
  if (r.chance(0.05)) headers.push(['X-Big', 'b'.repeat(10000 + r.int(70000))]);
  const method = broken && r.chance(0.3) ? r.pick(['POST', 'HEAD', 'OPTIONS']) : 'GET';
  const lines = [wire(`${method} ${randomPath(r, ports)} HTTP/1.1`), Buffer.from('\r\n')];
  for (const [name, value] of headers) lines.push(wire(name), Buffer.from(': '), wire(value), Buffer.from('\r\n'));
  if (broken && r.chance(0.3)) lines.push(Buffer.from(' folded\r\n'));
  lines.push(Buffer.from('\r\n'));
  return { bytes: Buffer.concat(lines), upgrade: !broken };
}

/** A WebSocket frame from the client: masked or not, any opcode, any payload, sometimes a lying length. */
function randomFrame(r) {
  const payload = r.bytes(r.int(r.chance(0.1) ? 70000 : 200));
  const opcode = r.pick([0, 1, 2, 2, 2, 8, 9, 10, 3, 11]);
  const fin = r.chance(0.9) ? 0x80 : 0;
  const masked = r.chance(0.9);
  const len = payload.length;
  const head = [fin | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else head.push(maskBit | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff);
  const mask = masked ? Buffer.from(r.bytes(4)) : Buffer.alloc(0);
  const body = Buffer.from(payload.map((b, i) => (masked ? b ^ mask[i % 4] : b)));
  const frame = Buffer.concat([Buffer.from(head), mask, body]);
  return r.chance(0.1) ? frame.subarray(0, r.int(frame.length)) : frame;
}

/** What the bridge answered: the HTTP status, then the close code of its first close frame if any. */
function outcomeOf(received) {
  const text = received.toString('latin1');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
  if (!status) return received.length ? 'no HTTP answer' : 'closed silently';
  if (status !== '101') return `HTTP ${status}`;
  const end = received.indexOf('\r\n\r\n');
  const frames = received.subarray(end + 4);
  for (let at = 0; at + 2 <= frames.length;) {
    const opcode = frames[at] & 0x0f;
    let len = frames[at + 1] & 0x7f;
    let head = 2;
    if (len === 126) ((len = frames.readUInt16BE(at + 2)), (head = 4));
    else if (len === 127) ((len = Number(frames.readBigUInt64BE(at + 2))), (head = 10));
    if (opcode === 8) return `101 then close ${frames.length >= at + head + 2 ? frames.readUInt16BE(at + head) : 'without code'}`;
    at += head + len;
  }
  return '101';
}

/** Sends one request (and frames after a 101) to port; resolves with the outcome, bounded in time. */
function exchange(port, request, frames) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      clearTimeout(limit);
      socket.destroy();
      resolve(outcomeOf(Buffer.concat(received)));
    };
    // Done once the bridge has been quiet for a moment after answering, or after 400 ms at most.
    let quiet = setTimeout(finish, 250);
    const limit = setTimeout(finish, 400);
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('data', (chunk) => {
      received.push(chunk);
      clearTimeout(quiet);
      quiet = setTimeout(finish, 30);
      if (frames && chunk.toString('latin1').startsWith('HTTP/1.1 101')) {
        for (const frame of frames) socket.write(frame);
        frames = null;
      }
    });
    socket.write(request.bytes);
  });
}

/** Resolves true if a tunnel to the echo server carries bytes both ways through `url`. */
async function servesTunnel(url) {
  const ws = new WebSocket(url, { origin: GOOD_ORIGIN });
  ws.on('error', () => {});
  try {
    const opened = await Promise.race([
      once(ws, 'open').then(
        () => true,
        () => false,
      ),
      once(ws, 'close').then(() => false),
      sleep(5000).then(() => false),
    ]);
    if (!opened) return false;
    ws.send(Buffer.from('a legitimate tunnel'));
    const reply = await Promise.race([once(ws, 'message').then(([data]) => Buffer.from(data).toString()), sleep(5000).then(() => null)]);
    return reply === 'a legitimate tunnel';
  } finally {
    ws.terminate();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function echoServer() {
  const server = createServer((socket) => socket.on('error', () => {}).pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** The command-line bridge as a child process; resolves once it listens. */
async function cliBridge(allow) {
  const args = [CLI, 'bridge', '--listen', '127.0.0.1:0', '--origin', GOOD_ORIGIN, ...allow.flatMap((a) => ['--allow', a])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let logLines = 0;
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => {
    logLines += d.toString().split('\n').length - 1;
    if (output.length < 100000) output += d;
  });
  const exited = once(child, 'exit');
  for (let waited = 0; !/listening on ws:\/\/\S+,/.test(output); waited += 20) {
    if (child.exitCode !== null || waited > 10000) throw new Error(`the command-line bridge did not start:\n${output}`);
    await sleep(20);
  }
  return {
    url: /listening on (ws:\/\/\S+),/.exec(output)[1],
    port: Number(/:(\d+),/.exec(output)[1]),
    child,
    output: () => output,
    logLines: () => logLines,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Runs the bridge fuzzer; resolves with a summary. `crashes` lists what went wrong (0 is the
 * only acceptable length); `servedAfter` says whether each bridge still carried a tunnel.
 */
export async function fuzzBridge({ count = 5000, seconds = 60, seed = Date.now() & 0xffffffff, concurrency = 16, log = () => {} } = {}) {
  const r = prng(seed);
  const echoes = [await echoServer(), await echoServer()];
  const ports = echoes.map((s) => s.address().port);
  const allow = ports.map((p) => `127.0.0.1:${p}`);
  const crashes = [];
  const onCrash = (where) => (error) => {
    crashes.push({ where, problem: `${error?.constructor?.name ?? typeof error}: ${error?.message ?? String(error)}` });
    log(`CRASH (${where}): ${error?.stack ?? error}`);
  };
  const uncaught = onCrash('embedded: uncaught exception');
  const unhandled = onCrash('embedded: unhandled rejection');
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', unhandled);
  const events = { open: 0, refused: 0, other: 0 };
  const embedded = await startBridge({
    allow,
    origins: [GOOD_ORIGIN],
    onEvent: (event) => (events[event.type] = (events[event.type] ?? 0) + 1),
  });
  const cli = await cliBridge(allow);
  const targets = [
    { name: 'embedded', port: embedded.port, url: `${embedded.url}/${allow[0]}` },
    { name: 'command line', port: cli.port, url: `${cli.url}/${allow[1]}` },
  ];
  const outcomes = {};
  const started = Date.now();
  let requests = 0;
  try {
    const worker = async () => {
      while (requests < count && Date.now() - started < seconds * 1000 && cli.child.exitCode === null) {
        requests++;
        const request = randomRequest(r, ports);
        const frames = request.upgrade ? Array.from({ length: r.int(4) }, () => randomFrame(r)) : null;
        const target = targets[requests % 2];
        const outcome = await exchange(target.port, request, frames);
        outcomes[`${target.name}: ${outcome}`] = (outcomes[`${target.name}: ${outcome}`] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (cli.child.exitCode !== null) crashes.push({ where: 'command line', problem: `exited with ${cli.child.exitCode}: ${cli.output().slice(-2000)}` });
    const servedAfter = {};
    for (const target of targets) servedAfter[target.name] = await servesTunnel(target.url);
    return {
      seed,
      requests,
      seconds: (Date.now() - started) / 1000,
      crashes,
      servedAfter,
      outcomes,
      embeddedEvents: events,
      embeddedStats: embedded.stats(),
      commandLineLogLines: cli.logLines(),
    };
  } finally {
    await cli.stop();
    await embedded.close();
    for (const server of echoes) server.close();
    process.off('uncaughtException', uncaught);
    process.off('unhandledRejection', unhandled);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (flag, fallback) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  const summary = await fuzzBridge({
    count: Number(arg('--count', 5000)),
    seconds: Number(arg('--seconds', 60)),
    seed: Number(arg('--seed', Date.now() & 0xffffffff)),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(summary, null, 2));
  if (summary.crashes.length || !Object.values(summary.servedAfter).every(Boolean)) process.exitCode = 1;
}
