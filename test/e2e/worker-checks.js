// The checks on worker-run.js's results, shared by the Node and the browser tests.
import assert from 'node:assert/strict';

export function checkRawMessages(r, { testWorker }) {
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(r.unanswered, [], 'every refused message with an id is answered');
  for (const [name, outcome] of Object.entries(r.refused)) assert.equal(outcome, 'ERR_INVALID_ARGUMENT', name);
  assert.ok(Object.keys(r.refused).length >= (testWorker ? 28 : 31));
  assert.ok(r.junkReplies >= 4, 'messages without an id are refused too');
  if (testWorker) assert.deepEqual(r.pollution, { objectPrototype: [], functionConstructor: 'undefined' });
  assert.deepEqual(r.listed, ['raw']);
  assert.equal(r.info.protocol, 'TLSv1.3');
  assert.equal(r.echo, 'kcatta eht retfa\n');
}

export function checkPortFlood(r) {
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.goodBefore, 'neighbour\n');
  assert.equal(r.opened, 'ERR_TRANSPORT');
  assert.equal(r.floodSocketClosed, 'ERR_TRANSPORT');
  assert.equal(r.floodAbort, 'ERR_TRANSPORT');
  assert.equal(r.goodAfter, 'still here\n');
}

export function checkWorkerSession(r, protocol) {
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.detached, true, 'the ArrayBuffer was transferred, not copied');
  assert.equal(r.info.protocol, protocol);
  assert.equal(r.echoOk, true, r.echo);
  assert.equal(r.keyInMemoryDuring, true, 'the worker holds the key while it may need it');
  assert.equal(r.deleted, true);
  assert.equal(r.keyInMemoryAfterDelete, false, 'deletePsk() leaves no copy in wasm memory');
  assert.ok(r.messages > 0);
  assert.equal(r.keyInMessages, false, 'no message to the page carries the key');
}

export function checkTwoWorkers(r) {
  assert.equal(r.firstBefore, 'tsrif\n');
  assert.equal(r.firstAfter.code, 'ERR_WORKER_GONE');
  assert.equal(r.firstClosed.code, 'ERR_WORKER_GONE');
  assert.equal(r.firstCall.code, 'ERR_WORKER_GONE');
  assert.equal(r.secondAfter, 'dnoces\n');
  assert.equal(r.newWorker, 'driht\n');
}

export function checkBulkEcho(r, bytes) {
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.got, bytes);
  assert.equal(r.mismatchAt, -1);
  assert.equal(r.callerBufferIntact, true, 'what the page wrote was copied, not transferred away');
}
