// TLS worker sessions, run the same way in a page (Playwright) and in Node (worker_threads):
// plain JavaScript and web APIs only, JSON-serialisable results. `createTlsWorker` is the
// function under test, from the browser bundle or from lib/worker.

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function describeError(error) {
  return { code: error?.code ?? null, name: error?.name ?? null, message: String(error?.message ?? error) };
}

/** Every byte and string in a message, for searching: nested objects, arrays, buffers. */
function flatten(value, out = [], seen = new Set()) {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(new TextEncoder().encode(value));
  else if (value instanceof ArrayBuffer) out.push(new Uint8Array(value));
  else if (ArrayBuffer.isView(value)) out.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  else if (typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    for (const [k, v] of Object.entries(value)) {
      out.push(new TextEncoder().encode(k));
      flatten(v, out, seen);
    }
  } else out.push(new TextEncoder().encode(String(value)));
  return out;
}

function includesBytes(haystack, needle) {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Whether any recorded message carries the key: raw, as hex, or as base64. */
export function messagesContainKey(messages, key) {
  const forms = [key, new TextEncoder().encode(toHex(key)), new TextEncoder().encode(btoa(String.fromCharCode(...key)))];
  return messages.some((message) => flatten(message).some((bytes) => forms.some((form) => includesBytes(bytes, form))));
}

/** Writes `text` on the socket and reads until `expected.length` characters came back (or the end). */
export async function echo(socket, text, expected) {
  const writer = socket.writable.getWriter();
  const reader = socket.readable.getReader();
  await writer.write(new TextEncoder().encode(text));
  let received = '';
  while (received.length < expected.length) {
    const { value, done } = await reader.read();
    if (done) break;
    received += new TextDecoder().decode(value);
  }
  writer.releaseLock();
  reader.releaseLock();
  return received;
}

/**
 * One session through a worker: import the key (transferred), connect, echo a line (s_server
 * -rev answers it reversed), check the key is in the worker's memory only while needed and
 * never in a message to the page.
 */
export async function workerSession(createTlsWorker, { url, identity, keyHex, cipher, options = {}, line = 'through the worker' }) {
  const messages = [];
  const worker = await createTlsWorker({ tap: (data) => messages.push(data) });
  const result = {};
  try {
    const key = fromHex(keyHex);
    const buffer = key.slice().buffer;
    await worker.importPsk(identity, buffer, cipher ? { cipher } : {});
    result.detached = buffer.byteLength === 0;
    const socket = worker.connect(url, { identity, ...options });
    result.info = await socket.opened;
    const reversed = [...line].reverse().join('');
    result.echo = await echo(socket, `${line}\n`, `${reversed}\n`);
    result.echoOk = result.echo === `${reversed}\n`;
    result.keyInMemoryDuring = await worker.memoryContains(key);
    await socket.close();
    result.keyInMemoryAfterClose = await worker.memoryContains(key);
    result.deleted = await worker.deletePsk(identity);
    result.keyInMemoryAfterDelete = await worker.memoryContains(key);
    result.messages = messages.length;
    result.keyInMessages = messagesContainKey(messages, key);
  } catch (error) {
    result.error = describeError(error);
  } finally {
    worker.terminate();
  }
  return result;
}

/**
 * Two workers, each with its own key and server; one is terminated (or crashes) mid-session:
 * its socket fails with ERR_WORKER_GONE, the other goes on, and a new worker works.
 */
export async function twoWorkers(createTlsWorker, { a, b, how = 'terminate' }) {
  const start = async ({ url, identity, keyHex }) => {
    const worker = await createTlsWorker({});
    await worker.importPsk(identity, fromHex(keyHex).buffer);
    const socket = worker.connect(url, { identity });
    await socket.opened;
    return { worker, socket };
  };
  const result = {};
  const first = await start(a);
  const second = await start(b);
  try {
    result.firstBefore = await echo(first.socket, 'first\n', 'tsrif\n');
    if (how === 'crash')
      await first.worker.crash().catch((e) => {
        if (e.code !== 'ERR_WORKER_GONE') throw e;
      }); // it may die before its answer arrives
    else first.worker.terminate();
    const reader = first.socket.readable.getReader();
    try {
      await reader.read();
      result.firstAfter = 'read succeeded';
    } catch (error) {
      result.firstAfter = describeError(error);
    }
    result.firstClosed = await first.socket.closed.then(
      () => 'resolved',
      (e) => describeError(e),
    );
    result.firstCall = await first.worker.listPsks().then(
      () => 'answered',
      (e) => describeError(e),
    );
    result.secondAfter = await echo(second.socket, 'second\n', 'dnoces\n');
    const third = await start(a);
    result.newWorker = await echo(third.socket, 'third\n', 'driht\n');
    await third.socket.close();
    third.worker.terminate();
    await second.socket.close();
  } finally {
    first.worker.terminate();
    second.worker.terminate();
  }
  return result;
}

/** A PSK derived in the worker from a passphrase (PBKDF2), against a server holding the same key. */
export async function passphraseSession(createTlsWorker, { url, identity, passphrase, saltHex, iterations }) {
  const worker = await createTlsWorker({});
  try {
    await worker.importPskFromPassphrase(identity, passphrase, fromHex(saltHex), { iterations });
    const socket = worker.connect(url, { identity });
    const info = await socket.opened;
    const echoed = await echo(socket, 'derived\n', 'devired\n');
    await socket.close();
    return { info, echoed };
  } catch (error) {
    return { error: describeError(error) };
  } finally {
    worker.terminate();
  }
}

/**
 * What a compromised page does first: it hooks Worker.prototype.postMessage before
 * createTlsWorker() and so gets the worker, to send it anything. Returns the TlsWorker, `raw`
 * (posts a message of the page's choosing) and every reply seen.
 */
export async function hookedWorker(createTlsWorker, WorkerClass) {
  const replies = [];
  const original = WorkerClass.prototype.postMessage;
  let target = null;
  WorkerClass.prototype.postMessage = function (...args) {
    target ??= this;
    return original.apply(this, args);
  };
  try {
    const worker = await createTlsWorker({ tap: (data) => replies.push(data) });
    return { worker, replies, raw: (message, transfer = []) => original.call(target, message, transfer) };
  } finally {
    WorkerClass.prototype.postMessage = original;
  }
}

/**
 * A compromised page's attack on the worker: it hooks Worker.prototype.postMessage before
 * createTlsWorker() to get the worker, then sends it generic-RPC messages (property get, set,
 * construct along paths: `new Function(code)` through ['constructor', 'constructor']), names
 * that are not methods, and malformed arguments. Each must be refused with an error reply
 * and reach no object; afterwards the worker must still work and, on a test worker, its
 * Object.prototype must be untouched. `WorkerClass` is the platform's Worker (the browser's,
 * or node:worker_threads').
 */
export async function rawMessages(createTlsWorker, WorkerClass, { url, identity, keyHex, testWorker = true }) {
  const { worker, raw, replies } = await hookedWorker(createTlsWorker, WorkerClass);
  const result = { refused: {}, unanswered: [] };
  try {
    const evil = 'globalThis.__constructed = "yes"; return 1';
    const attacks = {
      'comlink GET constructor': { id: 'a1', type: 'GET', path: ['constructor'] },
      'comlink SET Object.prototype': { id: 'a2', type: 'SET', path: ['__proto__', 'polluted'], value: { type: 'RAW', value: 'yes' } },
      'comlink SET constructor.prototype': { id: 'a3', type: 'SET', path: ['constructor', 'prototype', 'polluted'], value: { type: 'RAW', value: 'yes' } },
      'comlink CONSTRUCT Function': { id: 'a4', type: 'CONSTRUCT', path: ['constructor', 'constructor'], argumentList: [{ type: 'RAW', value: evil }] },
      'comlink APPLY along a path': { id: 'a5', type: 'APPLY', path: ['importPsk', 'call'], argumentList: [] },
      'comlink ENDPOINT': { id: 'a6', type: 'ENDPOINT' },
      'comlink RELEASE': { id: 'a7', type: 'RELEASE' },
      'method constructor': { call: 9001, method: 'constructor', args: [evil] },
      'method __proto__': { call: 9002, method: '__proto__', args: [] },
      'method toString': { call: 9003, method: 'toString', args: [] },
      'method hasOwnProperty': { call: 9004, method: 'hasOwnProperty', args: ['importPsk'] },
      'method instance (not on the list)': { call: 9005, method: 'instance', args: [] },
      'a path as the method name': { call: 9006, method: 'importPsk.constructor', args: [] },
      'args that are not an array': { call: 9007, method: 'listPsks', args: { length: 0 } },
      'too many args': { call: 9008, method: 'listPsks', args: [1, 2, 3] },
      'a key that is a string': { call: 9009, method: 'importPsk', args: ['x', '00112233445566778899aabbccddeeff'] },
      'an identity that is an object': { call: 9010, method: 'importPsk', args: [{ toString: 'x' }, new ArrayBuffer(32)] },
      'an identity of a megabyte': { call: 9011, method: 'deletePsk', args: ['i'.repeat(1 << 20)] },
      'an option named __proto__': {
        call: 9012,
        method: 'open',
        args: [77, 'client', url, JSON.parse('{"__proto__": {"polluted": "yes"}, "identity": "x"}'), { kind: 'port', port: null }],
      },
      'an unknown option': { call: 9013, method: 'importPsk', args: ['x', new ArrayBuffer(32), { cipher: 'TLS_AES_128_GCM_SHA256', extractable: true }] },
      'a channel of the wrong shape': { call: 9014, method: 'open', args: [78, 'client', url, { identity }, { kind: 'streams', toPage: 1, fromPage: 2 }] },
      'a role that is not one': { call: 9015, method: 'open', args: [79, 'admin', url, {}, { kind: 'port', port: null }] },
      'a url that is not ws': { call: 9016, method: 'open', args: [80, 'client', 'javascript:alert(1)', {}, { kind: 'port', port: null }] },
      'a socket number of 0': { call: 9017, method: 'closed', args: [0] },
      'a socket never opened': { call: 9018, method: 'closed', args: [12345] },
      'a fractional call number': { call: 1.5, method: 'listPsks', args: [] },
      'close() with a negative byte count': { call: 9024, method: 'close', args: [1, -1] },
      'close() with a byte count that is a string': { call: 9025, method: 'close', args: [1, '100'] },
    };
    if (!testWorker) {
      attacks['test-only memoryContains'] = { call: 9019, method: 'memoryContains', args: [new Uint8Array([1, 2, 3])] };
      attacks['test-only crash'] = { call: 9020, method: 'crash', args: [] };
      attacks['test-only pollution'] = { call: 9021, method: 'pollution', args: [] };
    }
    for (const junk of [null, 42, 'GET', [1, 2], { call: 9100 }]) raw(junk);
    for (const message of Object.values(attacks)) raw(message);
    // Every refusal is answered: wait for them (bounded), then look.
    const idOf = (m) => ('call' in m ? (Number.isSafeInteger(m.call) ? m.call : null) : m.id);
    const expected = Object.values(attacks).map(idOf);
    for (let i = 0; i < 200 && expected.some((id) => !replies.some((r) => r && r.reply === id)); i++) await new Promise((r) => setTimeout(r, 25));
    for (const [name, message] of Object.entries(attacks)) {
      const reply = replies.find((r) => r && r.reply === idOf(message));
      if (!reply) result.unanswered.push(name);
      else result.refused[name] = reply.error ? reply.error.code : `answered ${JSON.stringify(reply.value)}`;
    }
    result.junkReplies = replies.filter((r) => r && r.reply === null && r.error).length;
    if (testWorker) {
      raw({ call: 9500, method: 'pollution', args: [] });
      for (let i = 0; i < 200 && !replies.some((r) => r && r.reply === 9500); i++) await new Promise((r) => setTimeout(r, 25));
      result.pollution = replies.find((r) => r && r.reply === 9500)?.value ?? null;
    }
    // The worker still works: a key, a session, an answer.
    await worker.importPsk(identity, fromHex(keyHex).buffer);
    result.listed = await worker.listPsks();
    const socket = worker.connect(url, { identity });
    result.info = await socket.opened;
    result.echo = await echo(socket, 'after the attack\n', 'kcatta eht retfa\n');
    await socket.close();
  } catch (error) {
    result.error = describeError(error);
  } finally {
    worker.terminate();
  }
  return result;
}

/**
 * A page that ignores the channel's credit: it opens a socket of its own over a MessagePort it
 * made, then floods chunks without waiting. The worker must fail that socket with a typed error
 * (not buffer without bound), and another socket on the same worker must go on. `url`: an
 * echo server; `silentUrl`: a server that never answers, so the flooded socket's handshake
 * never finishes and nothing it was sent can be consumed.
 */
export async function portFlood(createTlsWorker, WorkerClass, { url, silentUrl, identity, keyHex }) {
  const { worker, raw, replies } = await hookedWorker(createTlsWorker, WorkerClass);
  const result = {};
  try {
    await worker.importPsk(identity, fromHex(keyHex).buffer);
    const good = worker.connect(url, { identity });
    await good.opened;
    result.goodBefore = await echo(good, 'neighbour\n', 'neighbour\n');
    const { port1, port2 } = new MessageChannel();
    const fromWorker = [];
    port1.onmessage = (event) => fromWorker.push(event.data);
    raw({ call: 8001, method: 'open', args: [4242, 'client', silentUrl, { identity }, { kind: 'port', port: port2 }] }, [port2]);
    raw({ call: 8002, method: 'closed', args: [4242] });
    const wait = async (id) => {
      for (let i = 0; i < 400 && !replies.some((r) => r && r.reply === id); i++) await new Promise((r) => setTimeout(r, 25));
      return replies.find((r) => r && r.reply === id) ?? null;
    };
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 64; i++) port1.postMessage({ t: 'chunk', bytes: chunk });
    const opened = await wait(8001);
    result.opened = opened ? (opened.error ? opened.error.code : 'resolved') : 'no answer';
    const closed = await wait(8002);
    result.floodSocketClosed = closed ? (closed.error ? closed.error.code : 'resolved') : 'no answer';
    // The abort comes on the socket's own port: no order with the reply on the worker's.
    for (let i = 0; i < 400 && !fromWorker.some((m) => m && m.t === 'abort'); i++) await new Promise((r) => setTimeout(r, 25));
    result.floodAbort = fromWorker.find((m) => m && m.t === 'abort')?.error?.code ?? null;
    result.goodAfter = await echo(good, 'still here\n', 'still here\n');
    await good.close();
    port1.close();
  } catch (error) {
    result.error = describeError(error);
  } finally {
    worker.terminate();
  }
  return result;
}

/**
 * Bulk data both ways through a worker socket, checked byte for byte: `bytes` sent to an echo
 * server while reading the answer. Exercises the backpressure of either stream path.
 */
export async function workerBulkEcho(createTlsWorker, { url, identity, keyHex, bytes }) {
  const worker = await createTlsWorker({});
  try {
    await worker.importPsk(identity, fromHex(keyHex).buffer);
    const socket = worker.connect(url, { identity });
    const info = await socket.opened;
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
    const writer = socket.writable.getWriter();
    const writing = (async () => {
      for (let i = 0; i < bytes; i += 16384) await writer.write(data.subarray(i, i + 16384));
    })();
    let got = 0;
    let mismatchAt = -1;
    for await (const chunk of socket) {
      for (let i = 0; i < chunk.length && mismatchAt < 0; i++) if (chunk[i] !== data[got + i]) mismatchAt = got + i;
      got += chunk.length;
      if (got >= bytes) break;
    }
    await writing;
    const intact = data[0] === 0 && data[bytes - 1] === (((bytes - 1) * 7 + ((bytes - 1) >> 10)) & 0xff);
    await socket.close();
    return { info, got, mismatchAt, callerBufferIntact: intact };
  } catch (error) {
    return { error: describeError(error) };
  } finally {
    worker.terminate();
  }
}

/**
 * The worker's accept() with asyncLookup: imports a PSK, accepts one client through `url` (a
 * relay; the worker looks the client's identity up in its store as the handshake asks), echoes
 * its first chunk, and closes once the client has.
 */
export async function asyncAccept(createTlsWorker, { url, identity, keyHex }) {
  const worker = await createTlsWorker();
  try {
    await worker.importPsk(identity, fromHex(keyHex).buffer);
    const socket = worker.accept(url, { asyncLookup: true });
    const info = await socket.opened;
    const reader = socket.readable.getReader();
    const writer = socket.writable.getWriter();
    const { value } = await reader.read();
    await writer.write(value);
    const end = await reader.read(); // the client's close_notify
    reader.releaseLock();
    writer.releaseLock();
    await socket.close();
    return { info, echoed: value.length, ended: end.done };
  } catch (error) {
    return { error: describeError(error) };
  } finally {
    worker.terminate();
  }
}
