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

async function echo(socket, text, expected) {
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
  const worker = await createTlsWorker({ debug: true, tap: (data) => messages.push(data) });
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
    const worker = await createTlsWorker({ debug: true });
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
    if (how === 'crash') await first.worker.crash();
    else first.worker.terminate();
    const reader = first.socket.readable.getReader();
    try {
      await reader.read();
      result.firstAfter = 'read succeeded';
    } catch (error) {
      result.firstAfter = describeError(error);
    }
    result.firstClosed = await first.socket.closed.then(() => 'resolved', (e) => describeError(e));
    result.firstCall = await first.worker.listPsks().then(() => 'answered', (e) => describeError(e));
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
