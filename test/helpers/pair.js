// The in-memory pair harness: a client and a server TlsConnection of one instance, driven
// against each other with no network. The tests, the benchmark (bench/scenarios.mjs, in Node
// and in the browser), the soak (bench/soak.mjs) and the fuzzer (fuzz/fuzz.mjs) all build their
// pairs and move their bytes with it. No imports: the caller passes the OpenSSL instance in.

/**
 * The kinds of handshake, named by what they negotiate: TLS 1.3 external PSKs through the man
 * page's callbacks (psk_dhe_ke, and psk_ke with no group in common), TLS 1.2 through the PSK
 * client/server callbacks (plain PSK, and ECDHE-PSK with ChaCha20-Poly1305).
 */
export const KINDS = ['tls13-psk_dhe_ke', 'tls13-psk_ke', 'tls12-psk', 'tls12-ecdhe-psk-chacha'];

const TLS12_CIPHERS = { 'tls12-psk': 'PSK-AES128-GCM-SHA256', 'tls12-ecdhe-psk-chacha': 'ECDHE-PSK-CHACHA20-POLY1305' };

/**
 * The context options of both sides of a handshake `kind` over one PSK (`key` under
 * `identity`), and the PSK sessions made for them (free them after the contexts).
 * - `suite`: the TLS 1.3 PSK session's suite.
 * - `fresh`: TLS 1.3, a new session per callback call, never freed here: the man page's
 *   ownership ("passed to the OpenSSL library").
 * - `hint`: a TLS 1.2 server's identity hint.
 * - `pinned`: the choices of bench/native/bench.c: the version, the suite and the groups
 *   pinned on both sides, and a TLS 1.2 server that knows the one identity.
 * Otherwise each side keeps the library's defaults, and a TLS 1.2 server takes any identity.
 */
export function pairOptions(ossl, kind, { key, identity, suite = 'TLS_AES_128_GCM_SHA256', fresh = false, hint, pinned = false }) {
  if (kind.startsWith('tls13-')) {
    if (kind !== 'tls13-psk_dhe_ke' && kind !== 'tls13-psk_ke') throw new Error(`unknown handshake kind ${kind}`);
    const psk_ke = kind === 'tls13-psk_ke';
    const newSession = () => ossl.createPskSession({ masterKey: key, cipher: suite });
    const session = fresh ? null : newSession();
    const sessionNow = fresh ? newSession : () => session;
    // A 1.1.1 server picks DHE whenever it shares a group with the client: psk_ke gives it none.
    const groups = { client: ['X25519'], server: [psk_ke ? 'P-256' : 'X25519'] };
    const side = (role) => ({
      role,
      ...(pinned ? { minVersion: 'TLSv1.3', ciphersuites: [suite] } : {}),
      ...(pinned || psk_ke ? { allowNoDheKex: psk_ke, groups: groups[role] } : {}),
    });
    return {
      sessions: session ? [session] : [],
      client: { ...side('client'), pskUseSession: () => ({ identity, session: sessionNow() }) },
      server: { ...side('server'), pskFindSession: () => sessionNow() },
    };
  }
  const cipherList = TLS12_CIPHERS[kind];
  if (!cipherList) throw new Error(`unknown handshake kind ${kind}`);
  const common = { maxVersion: 'TLSv1.2', cipherList };
  return {
    sessions: [],
    client: { role: 'client', ...common, ...(pinned ? { groups: ['X25519'] } : {}), pskClient: () => ({ identity, psk: key }) },
    server: pinned
      ? { role: 'server', ...common, groups: ['X25519'], pskServer: (_conn, id) => (id === identity ? key : null) }
      : { role: 'server', ...(hint === undefined ? {} : { pskIdentityHint: hint }), pskServer: () => key },
  };
}

/** A client and a server context of a handshake kind (see pairOptions): { client, server, free() }. */
export function createPair(ossl, kind, options) {
  const { client, server, sessions } = pairOptions(ossl, kind, options);
  const made = [];
  try {
    made.push(ossl.createContext(client));
    made.push(ossl.createContext(server));
  } catch (error) {
    for (const o of [...made, ...sessions]) o.free();
    throw error;
  }
  return {
    client: made[0],
    server: made[1],
    free() {
      for (const o of [...made, ...sessions]) o.free();
    },
  };
}

/** Moves what `from` has for its peer into `to`. */
export function move(from, to) {
  to.feed(from.drain());
}

/**
 * Runs both handshakes to the end, a flight at a time: the client's step, its bytes to the
 * server, the server's step, its bytes back; `move(from, to, side)` carries the bytes (e.g.
 * to record or mutate them). Throws if it takes more than `rounds` rounds. What a finished
 * side sent last (TLS 1.3 tickets) is left unread: see handshake() for a settled pair.
 */
export function pump(client, server, { rounds = 10, move: carry = move } = {}) {
  let clientDone = false;
  let serverDone = false;
  for (let round = 0; round < rounds && !(clientDone && serverDone); round++) {
    if (!clientDone) clientDone = client.handshake() === 'done';
    carry(client, server, 'client');
    if (!serverDone) serverDone = server.handshake() === 'done';
    carry(server, client, 'server');
  }
  if (!clientDone || !serverDone) throw new Error(`the handshake did not finish in ${rounds} rounds`);
}

/**
 * Runs both handshakes to completion, moving bytes each way, and throws the first error.
 * Bounded: a handshake that needs more than `rounds` flights is a bug.
 */
export function handshake(client, server, { rounds = 10 } = {}) {
  const result = tryHandshake(client, server, { rounds });
  if (result.client) throw result.client;
  if (result.server) throw result.server;
  return result;
}

/**
 * Like handshake(), but returns { client, server } errors (null on success) instead of
 * throwing, after letting each side see what the other sent, alerts included. A server made
 * with deferPskLookup that says 'want-psk' is handed to `onWantPsk(conn)` to answer, then asked
 * again (a few times at most: an answer that answers nothing leaves the handshake unsettled).
 */
export function tryHandshake(client, server, { rounds = 10, onWantPsk } = {}) {
  const state = { client: null, server: null };
  const done = { client: false, server: false };
  const step = (side, conn) => {
    if (done[side] || state[side]) {
      if (done[side] && !state[side]) {
        // A finished side may still have an alert or a ticket to read.
        try {
          conn.read();
        } catch (error) {
          state[side] = error;
        }
      }
      return;
    }
    for (let asked = 0; asked < 4; asked++) {
      let now;
      try {
        now = conn.handshake();
      } catch (error) {
        state[side] = error;
        return;
      }
      done[side] = now === 'done';
      if (now !== 'want-psk' || !onWantPsk) return;
      onWantPsk(conn);
    }
  };
  for (let i = 0; i < rounds; i++) {
    step('client', client);
    const toServer = client.drain();
    server.feed(toServer);
    step('server', server);
    const toClient = server.drain();
    client.feed(toClient);
    const settled = (side) => done[side] || state[side];
    if (settled('client') && settled('server') && toServer.length === 0 && toClient.length === 0) {
      step('client', client);
      step('server', server);
      return state;
    }
  }
  throw new Error(`the handshake did not settle in ${rounds} rounds`);
}

/** Sends `data` from one side and returns what the other reads, all of it. */
export function transfer(from, to, data) {
  from.write(data);
  to.feed(from.drain());
  const chunks = [];
  let chunk;
  while ((chunk = to.read()) !== null) chunks.push(chunk);
  from.feed(to.drain()); // anything the reader answered (tickets, key updates)
  return concat(chunks);
}

export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export const text = (s) => new TextEncoder().encode(s);
export const str = (b) => new TextDecoder().decode(b);
export const hex = (b) => Buffer.from(b).toString('hex');
export const fromHex = (h) => new Uint8Array(Buffer.from(h, 'hex'));

/**
 * What a test makes, freed when the test ends, passed or failed: `const own = owner(t)`, then
 * `const ctx = own(ossl.createContext(…))`. Freed in reverse order (connections before their
 * contexts, contexts before their sessions); free() is idempotent, so what the test freed
 * itself (e.g. to measure the heap after) is no matter.
 */
export function owner(t) {
  const made = [];
  t.after(() => {
    for (const o of made.splice(0).reverse()) o?.free();
  });
  return (o) => (made.push(o), o);
}

/** Two byte duplexes ({ readable, writable }) wired to each other in memory, for acceptTls/connectTls. */
export function duplexPair() {
  const ab = new TransformStream();
  const ba = new TransformStream();
  return [
    { readable: ba.readable, writable: ab.writable },
    { readable: ab.readable, writable: ba.writable },
  ];
}
