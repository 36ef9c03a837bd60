// Fuzzing pskFetch's response handling: a TLS-PSK server (Node's tls, on loopback) answers
// each request with bytes made from a valid HTTP/1.1 response (Content-Length, chunked,
// close-delimited, with trailers, with a 100 Continue first): truncated, bit-flipped, with
// bytes inserted, headers duplicated or resized, chunk sizes and lengths rewritten, or random.
// Rules: each request ends in a Response whose body reads to its end, or in a TlsError (on
// the fetch or on the body), within a time budget; nothing else is thrown; and once the fetch
// function is closed the server holds no open connection. `npm run fuzz -- --only http`
// runs it alone (`--http-count N`, `--http-seconds S`); test/fetch.test.js runs a short one.
import { once } from 'node:events';
import { createServer } from 'node:tls';
import { TlsError, connectTls } from '../lib/index.js';
import { createPskFetch } from '../lib/fetch/index.js';
import { startBridge } from '../lib/node/bridge.js';
import { prng } from './prng.mjs';

const KEY = Buffer.alloc(32, 0x48);
const enc = (text) => Buffer.from(text, 'latin1');

/** Valid responses to start from. */
const SEEDS = [
  enc('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"Systems":[1,2,3],"ok":11}'),
  enc('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
  enc('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 6\r\n\r\n'),
  enc('HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nclose-delimited body\n'),
  enc('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nok'),
  enc('HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n'),
  enc('HTTP/1.1 302 Found\r\nLocation: https://other.example/\r\nContent-Length: 0\r\n\r\n'),
];

function mutate(random, seed) {
  const bytes = Buffer.from(seed);
  switch (random.int(9)) {
    case 0:
      return bytes.subarray(0, random.int(bytes.length)); // truncated
    case 1: {
      for (let i = 0, n = 1 + random.int(4); i < n; i++) bytes[random.int(bytes.length)] ^= 1 << random.int(8);
      return bytes;
    }
    case 2: {
      const at = random.int(bytes.length);
      return Buffer.concat([bytes.subarray(0, at), random.bytes(1 + random.int(32)), bytes.subarray(at)]);
    }
    case 3:
      return random.bytes(random.int(200)); // random
    case 4:
      return enc(
        seed
          .toString('latin1')
          .replace(/Content-Length: \d+/i, `Content-Length: ${['-1', '99999999999999999999', '1e3', ' 5', '0x10', String(random.int(100))][random.int(6)]}`),
      );
    case 5:
      return enc(seed.toString('latin1').replace(/\r\n([0-9a-f]+)\r\n/, `\r\n${['zz', '-1', 'ffffffffffffffff', '', '5;ext=1'][random.int(5)]}\r\n`));
    case 6: {
      const text = seed.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      return end < 0 ? bytes : enc(`${text.slice(0, end)}\r\nX-Big: ${'a'.repeat(random.int(40_000))}${text.slice(end)}`);
    }
    case 7:
      return enc(
        seed
          .toString('latin1')
          .replace('HTTP/1.', ['HTTP/2.', 'HTTP/1.1.', 'HTTQ/1.', 'HTTP/1.'][random.int(4)])
          .replace(/ (\d{3}) /, ` ${['999', '099', '20', '2000', '600'][random.int(5)]} `),
      );
    default:
      return Buffer.concat([bytes, bytes]); // a second response nobody asked for
  }
}

/**
 * Runs `count` mutated responses (or until `seconds` pass). Resolves with the counts; a
 * rule broken is in `crashers`.
 */
export async function fuzzHttp({ count = 2000, seconds = 60, seed = 1, log = () => {} } = {}) {
  const random = prng(seed);
  let next = null;
  const open = new Set();
  const server = createServer({ ciphers: 'TLS_AES_128_GCM_SHA256', pskCallback: () => KEY }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    // Answer the first request on this connection with the prepared bytes, then close.
    socket.once('data', () => {
      const bytes = next ?? Buffer.alloc(0);
      socket.end(bytes);
    });
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const target = `127.0.0.1:${server.address().port}`;
  const bridge = await startBridge({ allow: [target] });
  const pskFetch = createPskFetch({
    connect: (origin) => connectTls(`${bridge.url}/${origin.host}`, { psk: { identity: 'fuzz', key: KEY }, closeTimeoutMs: 200 }),
    timeoutMs: 3000,
  });
  const result = { requests: 0, responses: 0, errors: {}, crashers: [] };
  const deadline = Date.now() + seconds * 1000;
  try {
    for (let i = 0; i < count && Date.now() < deadline; i++) {
      next = mutate(random, SEEDS[random.int(SEEDS.length)]);
      result.requests++;
      const outcome = await Promise.race([
        (async () => {
          try {
            const response = await pskFetch(`https://${target}/fuzz/${i}`, { redirect: 'manual' });
            await response.arrayBuffer();
            result.responses++;
          } catch (error) {
            if (!(error instanceof TlsError)) return `not a TlsError: ${error?.name}: ${error?.message}`;
            result.errors[error.code] = (result.errors[error.code] ?? 0) + 1;
          }
          return null;
        })(),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'hung for 10 s')),
      ]);
      if (outcome) {
        result.crashers.push({ input: next.toString('base64'), outcome });
        log(`crasher ${i}: ${outcome}`);
      }
    }
  } finally {
    pskFetch.close();
    await bridge.close();
    for (let i = 0; i < 100 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    result.leftOpen = open.size;
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  return result;
}
