// acceptTls's halfRttData: a server that accepted early data answers it as 0.5-RTT data,
// right after its flight and before the client's Finished, instead of after the handshake.
// The peers are real: connectTls over a byte duplex whose client-to-server direction can be
// held (or dropped) after the first chunk (the ClientHello with the early data), so that the
// client's Finished reaches the server only when the test says; and openssl s_client
// -early_data over TCP.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, describe, test } from 'node:test';
import { acceptTls, connectTls } from '../lib/index.js';
import { opensslClient, stopPeers } from './helpers/peers.js';
import { key32, key48 } from './helpers/psk.js';
import { pskSessionFile } from './helpers/session-pem.js';

after(stopPeers);

const text = (s) => new TextEncoder().encode(s);
const str = (b) => new TextDecoder().decode(b);

/**
 * A client end and a server end of a byte duplex. The client's first write (ClientHello and
 * early data) passes; later ones (EndOfEarlyData, Finished, ...) wait for release(), or are
 * dropped with `drop` (a client that never finishes its handshake). `events` records, in
 * order, what the test marks and when the held bytes went through.
 */
function gatedPair({ drop = false } = {}) {
  const up = new TransformStream();
  const down = new TransformStream();
  const upWriter = up.writable.getWriter();
  const downWriter = down.writable.getWriter();
  const events = [];
  let release;
  const released = new Promise((resolve) => (release = resolve));
  let chunks = 0;
  const gate = {
    events,
    downBytes: 0,
    release() {
      events.push('released');
      release();
    },
    client: {
      readable: down.readable,
      writable: new WritableStream({
        async write(chunk) {
          chunks += 1;
          if (chunks > 1) {
            if (drop) return;
            await released;
          }
          await upWriter.write(chunk);
        },
        close: () => upWriter.close(),
        abort: (reason) => upWriter.abort(reason),
      }),
    },
    server: {
      readable: up.readable,
      writable: new WritableStream({
        write(chunk) {
          gate.downBytes += chunk.byteLength;
          return downWriter.write(chunk);
        },
        close: () => downWriter.close(),
        abort: (reason) => downWriter.abort(reason),
      }),
    },
  };
  return gate;
}

/** Reads `n` bytes from a readable (or fewer if it ends). */
async function readBytes(readable, n) {
  const reader = readable.getReader();
  const parts = [];
  let got = 0;
  while (got < n) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.byteLength;
  }
  reader.releaseLock();
  return Buffer.concat(parts);
}

/** An echo server on `gate.server`, a client sending `early` as 0-RTT data, and the order of what happened. */
async function echoThroughGate({ halfRttData, releaseAfterMs }) {
  const psk = { identity: 'half', key: key32() };
  const gate = gatedPair();
  const server = acceptTls(gate.server, { psk, maxEarlyData: 1024, ...(halfRttData ? { halfRttData } : {}) });
  server.opened.then(() => gate.events.push('server opened'));
  server.readable.pipeTo(server.writable).catch(() => {});
  const client = connectTls(gate.client, { psk, earlyData: text('ping') });
  const info = await client.opened;
  // Without the option the answer cannot come before the release: release after a while.
  const timer = setTimeout(() => gate.release(), releaseAfterMs);
  const answer = await readBytes(client.readable, 4);
  gate.events.push('answer');
  clearTimeout(timer);
  if (!gate.events.includes('released')) gate.release();
  await server.opened;
  await Promise.all([client.close(), server.close()]);
  return { info, answer: str(answer), events: gate.events };
}

describe('halfRttData: 0.5-RTT answers from acceptTls', { timeout: 60000 }, () => {
  test('the answer to early data reaches the client while its Finished is held back', async () => {
    const { info, answer, events } = await echoThroughGate({ halfRttData: true, releaseAfterMs: 20000 });
    assert.equal(info.earlyDataAccepted, true);
    assert.equal(answer, 'ping');
    // The server answered before it could see the client's Finished, and opened only after.
    assert.deepEqual(events, ['answer', 'released', 'server opened']);
  });

  test("without halfRttData the answer waits for the client's Finished", async () => {
    const { info, answer, events } = await echoThroughGate({ halfRttData: false, releaseAfterMs: 300 });
    assert.equal(info.earlyDataAccepted, true);
    assert.equal(answer, 'ping');
    assert.deepEqual(events.slice(0, 2), ['released', 'server opened']);
    assert.equal(events[2], 'answer');
  });

  test('openssl s_client -early_data gets the 0.5-RTT answer; the server answered before its handshake ended', async () => {
    const key = key48();
    const file = pskSessionFile({ key, cipherId: 0x1302, maxEarlyData: 16384 });
    const dir = mkdtempSync(join(tmpdir(), 'opw-half-rtt-'));
    const early = join(dir, 'early.txt');
    writeFileSync(early, 'EARLY-REQUEST\n');
    const events = [];
    const served = [];
    const listener = createServer((socket) => {
      const tls = acceptTls(Duplex.toWeb(socket), {
        psk: { identity: 'dev-ed', key, cipher: 'TLS_AES_256_GCM_SHA384' },
        maxEarlyData: 16384,
        halfRttData: true,
      });
      tls.opened.then(() => events.push('opened')).catch(() => {});
      served.push(
        (async () => {
          const request = await readBytes(tls.readable, 14);
          events.push(`read ${str(request).trim()}`);
          const writer = tls.writable.getWriter();
          await writer.write(text(`ANSWER-TO ${str(request)}`));
          events.push('answered');
          writer.releaseLock();
          await tls.opened;
          await tls.close();
        })(),
      );
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const client = opensslClient(listener.address().port, ['-psk_session', file.path, '-psk_identity', 'dev-ed', '-early_data', early]);
    await client.waitFor('ANSWER-TO EARLY-REQUEST\n');
    await served[0];
    assert.deepEqual(events, ['read EARLY-REQUEST', 'answered', 'opened']);
    await client.stop();
    listener.close();
    rmSync(dir, { recursive: true, force: true });
    file.cleanup();
  });

  test('early data rejected (HelloRetryRequest): writes wait for the handshake and arrive, in order', async () => {
    const psk = { identity: 'half', key: key32() };
    const gate = gatedPair();
    gate.release(); // the second ClientHello must pass
    // The client's key share is X25519; the server takes P-256 only: a HelloRetryRequest,
    // after which early data is always rejected.
    const server = acceptTls(gate.server, { psk, maxEarlyData: 1024, halfRttData: true, groups: ['P-256'] });
    let opened = false;
    server.opened.then(() => (opened = true));
    const writer = server.writable.getWriter();
    const writes = [writer.write(text('first ')), writer.write(text('second'))];
    const wroteBeforeOpen = writes.map((w) => w.then(() => opened));
    const client = connectTls(gate.client, { psk, earlyData: text('ping'), groups: ['X25519', 'P-256'] });
    const info = await client.opened;
    assert.equal(info.earlyDataAccepted, false);
    assert.equal(str(await readBytes(client.readable, 12)), 'first second');
    assert.deepEqual(await Promise.all(wroteBeforeOpen), [true, true], 'the writes waited for the handshake');
    assert.equal(str(await readBytes(server.readable, 4)), 'ping', 'the rejected early data came again after the handshake');
    writer.releaseLock();
    await Promise.all([client.close(), server.close()]);
  });

  test('order across the end of the handshake: beyond 64 KiB, the rest waits for the Finished, nothing reordered', async () => {
    const psk = { identity: 'half', key: key32() };
    const gate = gatedPair();
    const server = acceptTls(gate.server, { psk, maxEarlyData: 1024, halfRttData: true });
    const big = new Uint8Array(100_000).map((_, i) => (i * 7 + 3) & 0xff);
    const serving = (async () => {
      assert.equal(str(await readBytes(server.readable, 4)), 'ping');
      const writer = server.writable.getWriter();
      await writer.write(text('head:'));
      const bigWritten = writer.write(big); // 64 KiB minus 5 bytes go now, the rest after the Finished
      await server.opened;
      await bigWritten;
      await writer.write(text(':tail'));
      writer.releaseLock();
    })();
    const client = connectTls(gate.client, { psk, earlyData: text('ping') });
    await client.opened;
    const reader = client.readable.getReader();
    let first = 0;
    const parts = [];
    // What arrives while the Finished is held: exactly the 0.5-RTT allowance.
    while (first < 64 * 1024) {
      const { value } = await reader.read();
      parts.push(value);
      first += value.byteLength;
    }
    assert.equal(first, 64 * 1024);
    gate.release();
    reader.releaseLock();
    parts.push(await readBytes(client.readable, 5 + big.byteLength + 5 - first));
    await serving;
    const all = Buffer.concat(parts);
    assert.equal(str(all.subarray(0, 5)), 'head:');
    assert.ok(Buffer.from(big).equals(all.subarray(5, 5 + big.byteLength)));
    assert.equal(str(all.subarray(5 + big.byteLength)), ':tail');
    await Promise.all([client.close(), server.close()]);
  });

  test('a client that sends early data and never its Finished: at most 64 KiB goes out, close() ends it, everything is freed', async () => {
    const psk = { identity: 'half', key: key32() };
    const gate = gatedPair({ drop: true });
    const server = acceptTls(gate.server, { psk, maxEarlyData: 1024, halfRttData: true, closeTimeoutMs: 200 });
    const flood = (async () => {
      await readBytes(server.readable, 4);
      const writer = server.writable.getWriter();
      for (;;) await writer.write(new Uint8Array(16384)); // ends when the socket does
    })();
    const client = connectTls(gate.client, { psk, earlyData: text('ping'), closeTimeoutMs: 200 });
    await client.opened;
    // The client reads the allowance; then nothing more comes.
    assert.equal((await readBytes(client.readable, 64 * 1024)).byteLength, 64 * 1024);
    const sent = gate.downBytes;
    assert.ok(sent < 64 * 1024 + 4096, `${sent} bytes sent before the Finished`);
    await server.close();
    await assert.rejects(flood, { code: 'ERR_CLOSED' });
    await assert.rejects(server.opened, { code: 'ERR_CLOSED' });
    await client.close().catch(() => {});
  });

  test('halfRttData is refused on a client and without maxEarlyData (ERR_INVALID_ARGUMENT)', async () => {
    const psk = { identity: 'half', key: key32() };
    const client = connectTls(gatedPair().client, { psk, halfRttData: true });
    await assert.rejects(client.opened, { code: 'ERR_INVALID_ARGUMENT', message: /for servers/ });
    const server = acceptTls(gatedPair().server, { psk, halfRttData: true });
    await assert.rejects(server.opened, { code: 'ERR_INVALID_ARGUMENT', message: /maxEarlyData/ });
    const typo = acceptTls(gatedPair().server, { psk, maxEarlyData: 1024, halfRttData: 'yes' });
    await assert.rejects(typo.opened, { code: 'ERR_INVALID_ARGUMENT', message: /boolean/ });
  });
});
