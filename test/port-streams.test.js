// The MessagePort channel of a worker socket (src/worker/port-streams.ts), both ends in one
// process over a real MessageChannel: order and bytes kept, backpressure by credit, typed
// errors both ways, a sender that ignores its credit, and ports closed once both directions
// are done (an open port with a listener is never collected).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { streamsOverPort } from '../lib/worker/port-streams.js';
import { TlsError } from '../lib/index.js';

const WINDOW = 64 * 1024;
const pair = () => {
  const { port1, port2 } = new MessageChannel();
  return {
    page: streamsOverPort(port1, { window: WINDOW, transferWrites: false }),
    worker: streamsOverPort(port2, { window: WINDOW, transferWrites: true }),
    port1,
    port2,
  };
};
const until = async (predicate, what) => {
  for (let i = 0; i < 400; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
};

describe('streams over a MessagePort', () => {
  test('bytes arrive in order and intact both ways; the writer keeps its buffers (copied), the other side transfers its own', async () => {
    const { page, worker } = pair();
    const sent = new Uint8Array(300_000).map((_, i) => i * 7);
    const pageWriter = page.writable.getWriter();
    const writing = (async () => {
      for (let i = 0; i < sent.length; i += 10_000) await pageWriter.write(sent.subarray(i, i + 10_000));
      await pageWriter.close();
    })();
    const got = [];
    for await (const chunk of worker.readable) got.push(chunk);
    await writing;
    assert.deepEqual(Buffer.concat(got), Buffer.from(sent));
    assert.equal(sent[299_999], (299_999 * 7) & 0xff, 'the writer still has its bytes');

    const back = new Uint8Array(1000).fill(9);
    const workerWriter = worker.writable.getWriter();
    await workerWriter.write(back);
    assert.equal(back.byteLength, 0, 'a chunk the library made itself is transferred, not copied');
    await workerWriter.close();
    const reader = page.readable.getReader();
    assert.deepEqual([...(await reader.read()).value], new Array(1000).fill(9));
    assert.equal((await reader.read()).done, true);
  });

  test('a reader that does not read stops the writer once the window is in flight, and releases it as it reads', async () => {
    const { page, worker } = pair();
    const writer = page.writable.getWriter();
    let written = 0;
    const writing = (async () => {
      for (let i = 0; i < 40; i++) {
        await writer.write(new Uint8Array(16 * 1024));
        written += 16 * 1024;
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(written <= WINDOW, `at most the window is written before the reader reads (${written})`);
    const reader = worker.readable.getReader();
    let read = 0;
    while (read < 40 * 16 * 1024) read += (await reader.read()).value.length;
    await writing;
    assert.equal(written, 40 * 16 * 1024);
    page.fail(new TlsError('ERR_CLOSED', 'done'));
    worker.fail(new TlsError('ERR_CLOSED', 'done'));
  });

  test('an abort reaches the reader as the same typed error, and a cancel reaches the writer', async () => {
    const a = pair();
    const writer = a.page.writable.getWriter();
    await writer.abort(new TlsError('ERR_PSK_WRONG_KEY', 'bad key'));
    await assert.rejects(a.worker.readable.getReader().read(), (e) => e instanceof TlsError && e.code === 'ERR_PSK_WRONG_KEY' && e.message === 'bad key');

    const b = pair();
    await b.worker.readable.cancel(new TlsError('ERR_CLOSED', 'the socket was closed'));
    const w = b.page.writable.getWriter();
    await until(() => w.desiredSize === null, 'the cancel to arrive');
    await assert.rejects(w.write(new Uint8Array(1)), { code: 'ERR_CLOSED' });
    for (const end of [a.page, a.worker, b.page, b.worker]) end.fail(new TlsError('ERR_CLOSED', 'done'));
  });

  test('a sender that ignores its credit fails the stream (ERR_TRANSPORT) instead of growing the receiver', async () => {
    const { port1, port2 } = new MessageChannel();
    const worker = streamsOverPort(port2, { window: WINDOW, transferWrites: true });
    const cancels = [];
    port1.onmessage = (event) => cancels.push(event.data);
    for (let i = 0; i < 8; i++) port1.postMessage({ t: 'chunk', bytes: new Uint8Array(32 * 1024) });
    await until(() => cancels.some((m) => m.t === 'cancel'), 'the cancel');
    await assert.rejects(worker.readable.getReader().read(), { code: 'ERR_TRANSPORT' });
    for (const junk of [null, { t: 'credit', n: -1 }, { t: 'chunk', bytes: 'text' }, { t: 'what' }]) {
      const other = new MessageChannel();
      const streams = streamsOverPort(other.port2, { window: WINDOW, transferWrites: true });
      other.port1.postMessage(junk);
      await until(() => !other.port2.hasRef(), 'the violation');
      await assert.rejects(streams.readable.getReader().read(), { code: 'ERR_TRANSPORT' }, JSON.stringify(junk));
      other.port1.close();
    }
    port1.close();
  });

  test('both ports are closed once both directions are done, however they ended', async () => {
    for (const ending of ['close both', 'abort and cancel']) {
      const { page, worker, port1, port2 } = pair();
      assert.equal(port1.hasRef(), true);
      if (ending === 'close both') {
        await page.writable.getWriter().close();
        await worker.writable.getWriter().close();
        await worker.readable.getReader().read();
        await page.readable.getReader().read();
      } else {
        await page.writable.getWriter().abort(new TlsError('ERR_CLOSED', 'x'));
        await page.readable.cancel(new TlsError('ERR_CLOSED', 'y'));
      }
      await until(() => !port1.hasRef() && !port2.hasRef(), `both ports closed (${ending})`);
    }
  });
});
