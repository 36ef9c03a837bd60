// One client session, run the same way in a web page and in Node: connect with
// lib.connectTls(), send a payload, read the answer, compare it byte for byte. Only the
// library and web-platform APIs, and a JSON-serialisable result, so page.evaluate can run it.

/** Deterministic test data: 'lines' of printable text ending in "\n", 'binary' bytes, or 'text'. */
export function makePayload({ kind, bytes = 0, seed = 1, text = '' }) {
  if (kind === 'text') return new TextEncoder().encode(text);
  const out = new Uint8Array(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = kind === 'binary' ? x & 0xff : 33 + (x % 94);
  }
  if (kind === 'lines') for (let i = 999; i < bytes; i += 1000) out[i] = 10;
  if (kind === 'lines' && bytes > 0) out[bytes - 1] = 10;
  return out;
}

/** What `openssl s_server -rev` answers: each line reversed, its newline kept. */
export function reverseLines(data) {
  const out = new Uint8Array(data.length);
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 10) {
      for (let j = start; j < i; j++) out[start + (i - 1 - j)] = data[j];
      if (i < data.length) out[i] = 10;
      start = i + 1;
    }
  }
  return out;
}

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));

function describeError(error) {
  return { code: error?.code ?? null, name: error?.name ?? null, message: String(error?.message ?? error), closeCode: error?.closeCode ?? null };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(
    () => clearTimeout(timer),
  );
}

/**
 * Runs a session. `answer`: 'echo' (the same bytes back), 'reversed-lines' (s_server -rev), or
 * 'none' (nothing expected back). Returns { info, sent, received, expected, mismatchAt } or
 * { error: { code, message, … } }.
 */
export async function runClient(lib, { url, psk, options = {}, payload, answer = 'echo', earlyData, timeoutMs = 30000 }) {
  const socketOptions = { ...options, psk: { identity: psk.identity, key: fromHex(psk.keyHex), ...(psk.cipher ? { cipher: psk.cipher } : {}) } };
  if (earlyData !== undefined) socketOptions.earlyData = new TextEncoder().encode(earlyData);
  const socket = lib.connectTls(url, socketOptions);
  let info;
  try {
    info = await withTimeout(socket.opened, timeoutMs, 'the handshake');
  } catch (error) {
    socket.close().catch(() => {});
    return { error: describeError(error) };
  }
  const data = makePayload(payload);
  const expected = answer === 'reversed-lines' ? reverseLines(data) : answer === 'none' ? new Uint8Array(0) : data;
  const reader = socket.readable.getReader();
  const writer = socket.writable.getWriter();
  const writing = (async () => {
    for (let i = 0; i < data.length; i += 16384) await writer.write(data.subarray(i, i + 16384));
  })();
  const received = new Uint8Array(expected.length);
  let filled = 0;
  let extra = 0;
  try {
    while (filled < expected.length) {
      const { value, done } = await withTimeout(reader.read(), timeoutMs, `the answer (${filled} of ${expected.length} bytes so far)`);
      if (done) break;
      const take = Math.min(value.length, expected.length - filled);
      received.set(value.subarray(0, take), filled);
      filled += take;
      extra += value.length - take;
    }
    await writing;
  } catch (error) {
    socket.close().catch(() => {});
    return { info, error: describeError(error), received: filled };
  }
  reader.releaseLock();
  writer.releaseLock();
  await socket.close().catch(() => {});
  let mismatchAt = filled < expected.length ? filled : extra > 0 ? expected.length : -1;
  for (let i = 0; i < filled; i++) {
    if (received[i] !== expected[i]) {
      mismatchAt = i;
      break;
    }
  }
  return { info, sent: data.length, received: filled + extra, expected: expected.length, mismatchAt };
}
