// Asynchronous PSK lookup on TLS 1.3 servers: the sans-IO engine's 'want-psk' state
// (deferPskLookup, pskWanted, providePsk, failPskLookup) and acceptTls's findPsk, between wasm
// peers: several identities, HelloRetryRequest, early data, unknown identities, failures and
// timeouts, TLS 1.2 refused, connections freed while a lookup is pending, many handshakes
// waiting at once, and who frees a session a lookup returns. See src/tls/psk-lookup.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acceptTls, connectTls, loadOpenSSL, TlsError } from '../lib/index.js';
import { duplexPair, handshake, move, str, text, tryHandshake } from './helpers/pair.js';
import { freeAll, key32, key48 } from './helpers/psk.js';

const ossl = await loadOpenSSL();
const SUITE = 'TLS_AES_128_GCM_SHA256';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TLS 1.3 client context offering `key` under `identity` (a session of `cipher`'s digest). */
function client(identity, key, { cipher = SUITE, maxEarlyData = 0, ...options } = {}) {
  const session = ossl.createPskSession({ masterKey: key, cipher, maxEarlyData });
  const ctx = ossl.createContext({ role: 'client', pskUseSession: () => ({ identity, session }), ...options });
  return { ctx, session, free: () => freeAll(ctx, session) };
}

/**
 * Runs a client and a deferred-lookup server against each other in memory; `answer(server,
 * wanted)` answers each 'want-psk' (it may call providePsk/failPskLookup). Returns what each
 * side ended with, and how many times the server waited.
 */
function run(c, s, answer, { rounds = 12 } = {}) {
  const out = { waits: 0, wanted: [] };
  const onWantPsk = (conn) => {
    const wanted = conn.pskWanted;
    out.waits++;
    out.wanted.push(wanted.map(str));
    answer(conn, wanted);
  };
  const ended = tryHandshake(c, s, { rounds, onWantPsk });
  return { ...out, ...ended, done: !ended.client && !ended.server };
}

describe('the sans-IO engine: want-psk', () => {
  test("handshake() returns 'want-psk' with the offered identity, waits until providePsk(), then completes", () => {
    const key = key32();
    const cl = client('dev-1', key);
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const c = cl.ctx.createConnection();
    const s = sctx.createConnection();
    try {
      assert.equal(c.handshake(), 'want-read');
      move(c, s);
      assert.equal(s.pskWanted, null, 'not waiting before the ClientHello is read');
      assert.equal(s.handshake(), 'want-psk');
      assert.deepEqual(s.pskWanted.map(str), ['dev-1']);
      assert.equal(s.drain().length, 0, 'nothing sent while waiting');
      assert.equal(s.handshake(), 'want-psk', 'still waiting: no answer yet');
      assert.equal(s.read(), null, 'read() while waiting: nothing yet, no error');
      s.providePsk('dev-1', { key });
      assert.equal(s.handshake(), 'want-read');
      assert.equal(s.pskWanted, null);
      move(s, c);
      assert.equal(c.handshake(), 'done');
      move(c, s);
      assert.equal(s.handshake(), 'done');
      assert.equal(s.sessionReused, true);
      assert.equal(c.sessionReused, true);
      assert.equal(s.cipher.name, c.cipher.name);
    } finally {
      freeAll(c, s, sctx);
      cl.free();
    }
  });

  test('a SHA-384 PSK answered as { key, cipher } gets a SHA-384 suite; an SslSession answer stays the giver’s', () => {
    const key = key48();
    const cl = client('dev-384', key, { cipher: 'TLS_AES_256_GCM_SHA384' });
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    for (const kind of ['key', 'session']) {
      const c = cl.ctx.createConnection();
      const s = sctx.createConnection();
      const given = ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_256_GCM_SHA384' });
      const r = run(c, s, (conn, wanted) => {
        conn.providePsk(wanted[0], kind === 'key' ? { key, cipher: 'TLS_AES_256_GCM_SHA384' } : given);
        given.free(); // the connection took a reference of its own
      });
      assert.equal(r.server, null, kind);
      assert.equal(r.done, true, kind);
      assert.equal(s.cipher.name, 'TLS_AES_256_GCM_SHA384', kind);
      freeAll(c, s);
    }
    freeAll(sctx);
    cl.free();
  });

  test('several identities: the ones before the first PSK found are wanted in order; the first found is used', () => {
    // An OpenSSL client offers a resumption ticket first, then its external PSK: a ticket
    // from another server is an identity this server's lookup must answer (null here).
    const key = key32();
    const cl = client('dev-1', key);
    const other = ossl.createContext({ role: 'server', pskFindSession: () => cl.session });
    const c0 = cl.ctx.createConnection();
    const s0 = other.createConnection();
    handshake(c0, s0);
    move(s0, c0);
    c0.read(); // the tickets
    const ticket = c0.getSession();
    assert.equal(ticket.resumable, true);
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const c = cl.ctx.createConnection();
    c.setSession(ticket);
    const s = sctx.createConnection();
    try {
      const order = [];
      const r = run(c, s, (conn, wanted) => {
        order.push(wanted.length);
        if (wanted.length === 2) {
          // Answering the second alone is not enough: the first comes before it.
          conn.providePsk(wanted[1], { key });
          assert.deepEqual(conn.pskWanted.length, 1);
          return;
        }
        conn.providePsk(wanted[0], null);
      });
      assert.equal(r.server, null);
      assert.equal(r.done, true);
      assert.deepEqual(order, [2, 1]);
      assert.equal(r.wanted[0][1], 'dev-1', 'the external PSK comes after the ticket');
      assert.equal(s.sessionReused, true);
    } finally {
      freeAll(c, s, sctx, c0, s0, other, ticket);
      cl.free();
    }
  });

  test('HelloRetryRequest: one lookup serves both ClientHellos', () => {
    const key = key32();
    const cl = client('dev-1', key, { groups: ['X25519', 'P-256'] });
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true, groups: ['P-256'] });
    const c = cl.ctx.createConnection();
    const s = sctx.createConnection();
    try {
      const r = run(c, s, (conn, wanted) => conn.providePsk(wanted[0], { key }));
      assert.equal(r.server, null);
      assert.equal(r.done, true);
      assert.equal(r.waits, 1, 'the second ClientHello finds its answer');
      assert.equal(c.keyExchangeGroup, 'P-256', 'a HelloRetryRequest asked for P-256');
    } finally {
      freeAll(c, s, sctx);
      cl.free();
    }
  });

  for (const [name, allow, answer] of [
    ['accepted with a { key } answer (its session allows the context’s maxEarlyData)', true, (key) => ({ key })],
    ['accepted with a session answer that allows it', true, (key) => ossl.createPskSession({ masterKey: key, cipher: SUITE, maxEarlyData: 1024 })],
    ['rejected by a context that allows none', false, (key) => ({ key })],
  ]) {
    test(`early data is ${name}`, () => {
      const key = key32();
      const cl = client('dev-ed', key, { maxEarlyData: 1024 });
      const sctx = ossl.createContext({ role: 'server', deferPskLookup: true, maxEarlyData: allow ? 1024 : 0 });
      const c = cl.ctx.createConnection();
      const s = sctx.createConnection();
      try {
        c.writeEarlyData(text('0-RTT'));
        move(c, s);
        let read = allow ? s.readEarlyData() : { wantPsk: s.handshake() === 'want-psk', finished: true };
        assert.equal(read.wantPsk, true);
        assert.deepEqual(s.pskWanted.map(str), ['dev-ed']);
        const given = answer(key);
        s.providePsk('dev-ed', given);
        if (given.free) given.free(); // the connection holds its own reference
        const early = [];
        for (let i = 0; i < 4 && !read.finished; i++) {
          read = s.readEarlyData();
          if (read.data) early.push(str(read.data));
          move(s, c);
          if (!read.finished && !read.data) {
            c.handshake();
            move(c, s);
          }
        }
        const r = run(c, s, () => assert.fail('no second lookup'));
        assert.equal(r.server, null);
        assert.equal(r.client, null);
        assert.equal(s.earlyDataStatus, allow ? 'accepted' : 'rejected');
        assert.deepEqual(early, allow ? ['0-RTT'] : []);
      } finally {
        freeAll(c, s, sctx);
        cl.free();
      }
    });
  }

  test('every identity answered null: unknown_psk_identity; the client gets ERR_PSK_UNKNOWN_IDENTITY', () => {
    const cl = client('nobody', key32());
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const c = cl.ctx.createConnection();
    const s = sctx.createConnection();
    try {
      const r = run(c, s, (conn, wanted) => conn.providePsk(wanted[0], null));
      assert.equal(r.server?.code, 'ERR_PSK_UNKNOWN_IDENTITY');
      assert.equal(r.server.alert?.name, 'unknown_psk_identity');
      assert.equal(r.client?.code, 'ERR_PSK_UNKNOWN_IDENTITY');
      assert.equal(r.client.alert?.code, 115);
    } finally {
      freeAll(c, s, sctx);
      cl.free();
    }
  });

  test('failPskLookup(): ERR_PSK_LOOKUP with the cause on the server, internal_error to the client', () => {
    const cl = client('dev-1', key32());
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const c = cl.ctx.createConnection();
    const s = sctx.createConnection();
    const cause = new Error('the key store is offline');
    try {
      const r = run(c, s, (conn) => conn.failPskLookup(cause));
      assert.equal(r.server?.code, 'ERR_PSK_LOOKUP');
      assert.equal(r.server.cause, cause);
      assert.match(r.server.message, /the key store is offline/);
      assert.equal(r.server.alert?.name, 'internal_error');
      assert.ok(r.client instanceof TlsError);
      assert.equal(r.client.alert?.name, 'internal_error');
      assert.equal(r.client.alert?.direction, 'received');
    } finally {
      freeAll(c, s, sctx);
      cl.free();
    }
  });

  test('a TLS 1.2 ClientHello is refused with protocol_version: TLS 1.2 has no point where a handshake can wait', () => {
    const key = key32();
    const cctx = ossl.createContext({ role: 'client', maxVersion: 'TLSv1.2', pskClient: () => ({ identity: 'old', psk: key }) });
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const c = cctx.createConnection();
    const s = sctx.createConnection();
    try {
      const r = run(c, s, () => assert.fail('no lookup for TLS 1.2'));
      assert.equal(r.server?.code, 'ERR_PROTOCOL_VERSION');
      assert.match(r.server.message, /TLS 1\.3 only/);
      assert.equal(r.server.alert?.name, 'protocol_version');
      assert.equal(r.client?.code, 'ERR_PROTOCOL_VERSION');
    } finally {
      freeAll(c, s, cctx, sctx);
    }
  });

  test('deferPskLookup excludes the synchronous server callbacks, and is for TLS 1.3 servers', () => {
    const invalid = { code: 'ERR_INVALID_ARGUMENT' };
    assert.throws(() => ossl.createContext({ role: 'server', deferPskLookup: true, pskFindSession: () => null }), invalid);
    assert.throws(() => ossl.createContext({ role: 'server', deferPskLookup: true, pskServer: () => null }), invalid);
    assert.throws(() => ossl.createContext({ role: 'client', deferPskLookup: true }), invalid);
    assert.throws(() => ossl.createContext({ role: 'server', deferPskLookup: true, maxVersion: 'TLSv1.2' }), invalid);
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const s = sctx.createConnection();
    try {
      assert.throws(() => sctx.setPskFindSessionCallback(() => null), invalid);
      assert.throws(() => s.setPskServerCallback(() => null), invalid);
      assert.throws(() => s.providePsk('x', null), /after handshake\(\) returned 'want-psk'/);
    } finally {
      freeAll(s, sctx);
    }
    const cctx = ossl.createContext({ role: 'client' });
    const c = cctx.createConnection();
    assert.throws(() => c.providePsk('x', null), invalid);
    assert.equal(c.pskWanted, null);
    freeAll(c, cctx);
  });

  test('providePsk() refuses an identity not offered and an unusable answer; a refused answer changes nothing', () => {
    const key = key32();
    const cl = client('dev-1', key);
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const c = cl.ctx.createConnection();
    const s = sctx.createConnection();
    try {
      c.handshake();
      move(c, s);
      assert.equal(s.handshake(), 'want-psk');
      assert.throws(() => s.providePsk('dev-2', { key }), /did not offer/);
      assert.throws(() => s.providePsk('dev-1', { key: new Uint8Array(0) }), { code: 'ERR_INVALID_ARGUMENT' });
      assert.throws(() => s.providePsk('dev-1', { key, cipher: 'PSK-AES128-GCM-SHA256' }), /not a TLS 1\.3 suite/);
      assert.throws(() => s.providePsk('dev-1', 'a key'), { code: 'ERR_INVALID_ARGUMENT' });
      assert.throws(() => s.providePsk('dev-1', { key: new Uint8Array(49) }), { code: 'ERR_PSK_KEY_TOO_LONG' });
      assert.deepEqual(s.pskWanted.map(str), ['dev-1'], 'still wanted');
      s.providePsk(text('dev-1'), { key });
      const r = run(c, s, () => assert.fail('answered already'));
      assert.equal(r.done, true);
    } finally {
      freeAll(c, s, sctx);
      cl.free();
    }
  });

  test('a connection freed while it waits: its answers are freed, later calls are refused, memory does not grow', () => {
    const key = key32();
    const cl = client('dev-1', key);
    const sctx = ossl.createContext({ role: 'server', deferPskLookup: true });
    const round = (i) => {
      const c = cl.ctx.createConnection();
      const s = sctx.createConnection();
      c.handshake();
      move(c, s);
      assert.equal(s.handshake(), 'want-psk');
      if (i % 2 === 0) s.providePsk('dev-1', { key }); // a session the connection made and holds
      s.free();
      assert.throws(() => s.providePsk('dev-1', { key }), { code: 'ERR_USE_AFTER_FREE' });
      assert.throws(() => s.pskWanted, { code: 'ERR_USE_AFTER_FREE' });
      c.free();
    };
    for (let i = 0; i < 20; i++) round(i); // warm-up: the allocator's pools
    const before = ossl.heapStats().inUseBytes;
    for (let i = 0; i < 200; i++) round(i);
    assert.equal(ossl.heapStats().inUseBytes, before, 'no bytes left behind by 200 freed waits');
    freeAll(sctx);
    cl.free();
  });
});

async function echoOnce(client, server, line) {
  const writer = client.writable.getWriter();
  await writer.write(text(line));
  writer.releaseLock();
  const reader = server.readable.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return str(value);
}

describe('acceptTls({ findPsk })', () => {
  for (const ms of [0, 50]) {
    test(`a lookup that takes ${ms} ms: the handshake waits for it, then completes`, async () => {
      const key = key32();
      const asked = [];
      const [a, b] = duplexPair();
      const server = acceptTls(b, {
        findPsk: async (identity) => {
          asked.push(str(identity));
          await sleep(ms);
          return str(identity) === 'dev-1' ? { key } : null;
        },
      });
      const client = connectTls(a, { psk: { identity: 'dev-1', key } });
      const [info] = await Promise.all([client.opened, server.opened]);
      assert.equal(info.protocol, 'TLSv1.3');
      assert.equal(info.sessionReused, true);
      assert.deepEqual(asked, ['dev-1']);
      assert.equal(await echoOnce(client, server, 'after the lookup'), 'after the lookup');
      await Promise.all([client.close(), server.close()]);
    });
  }

  test('a lookup that returns null: the client gets ERR_PSK_UNKNOWN_IDENTITY, the server too', async () => {
    const [a, b] = duplexPair();
    const server = acceptTls(b, { findPsk: async () => null });
    const client = connectTls(a, { psk: { identity: 'who', key: key32() } });
    await assert.rejects(server.opened, { code: 'ERR_PSK_UNKNOWN_IDENTITY' });
    await assert.rejects(client.opened, { code: 'ERR_PSK_UNKNOWN_IDENTITY' });
  });

  test('a lookup that rejects: ERR_PSK_LOOKUP with its error as cause; internal_error to the client', async () => {
    const [a, b] = duplexPair();
    const failure = new Error('database unreachable');
    const server = acceptTls(b, { findPsk: async () => Promise.reject(failure) });
    const client = connectTls(a, { psk: { identity: 'dev-1', key: key32() } });
    const error = await server.opened.catch((e) => e);
    assert.equal(error.code, 'ERR_PSK_LOOKUP');
    assert.equal(error.cause, failure);
    await assert.rejects(client.opened, (e) => e.alert?.name === 'internal_error' && e.alert.direction === 'received');
  });

  test('a lookup that throws synchronously, or answers something unusable, fails the same way', async () => {
    for (const findPsk of [
      () => {
        throw new Error('sync');
      },
      async () => ({ key: 'not bytes' }),
    ]) {
      const [a, b] = duplexPair();
      const server = acceptTls(b, { findPsk });
      const client = connectTls(a, { psk: { identity: 'dev-1', key: key32() } });
      await assert.rejects(server.opened, { code: 'ERR_PSK_LOOKUP' });
      await assert.rejects(client.opened, (e) => e.alert?.name === 'internal_error');
    }
  });

  test('a lookup that times out: ERR_PSK_LOOKUP after pskLookupTimeoutMs, its signal aborted, the late answer dropped', async () => {
    const [a, b] = duplexPair();
    let signal;
    let release;
    let made;
    const late = new Promise((resolve) => (release = resolve));
    const server = acceptTls(b, {
      openssl: ossl,
      pskLookupTimeoutMs: 50,
      findPsk: async (identity, options) => {
        signal = options.signal;
        await late;
        made = ossl.createPskSession({ masterKey: key32(), cipher: SUITE }); // made during the lookup: the socket's to free
        return made;
      },
    });
    const client = connectTls(a, { psk: { identity: 'dev-1', key: key32() } });
    const error = await server.opened.catch((e) => e);
    assert.equal(error.code, 'ERR_PSK_LOOKUP');
    assert.match(error.message, /within 50 ms \(pskLookupTimeoutMs\)/);
    assert.equal(signal.aborted, true);
    await assert.rejects(client.opened, (e) => e.alert?.name === 'internal_error');
    let lateSession;
    release();
    await sleep(20); // the late answer arrives: dropped, and its session freed
    lateSession = made;
    assert.equal(lateSession?.freed, true);
  });

  test('a socket closed while its lookup is pending: nothing runs on the freed connection, the late session is freed', async () => {
    const [a, b] = duplexPair();
    let started;
    const lookupStarted = new Promise((resolve) => (started = resolve));
    let finish;
    const server = acceptTls(b, {
      openssl: ossl,
      findPsk: () =>
        new Promise((resolve) => {
          finish = resolve;
          started();
        }),
    });
    const client = connectTls(a, { psk: { identity: 'dev-1', key: key32(), cipher: SUITE }, handshakeTimeoutMs: 2000 });
    client.opened.catch(() => {});
    await lookupStarted;
    await server.close();
    await assert.rejects(server.opened, { code: 'ERR_CLOSED' });
    await client.closed.catch(() => {}); // the transport ended under it
    const made = ossl.createPskSession({ masterKey: key32(), cipher: SUITE });
    finish(made); // made during the lookup: the socket's, freed now that it is gone
    await sleep(20);
    assert.equal(made.freed, true);
  });

  test('a session the lookup made is freed with the socket; one made before it, or kept, stays the caller’s', async () => {
    const key = key32();
    const cached = ossl.createPskSession({ masterKey: key, cipher: SUITE });
    for (const kind of ['made', 'cached', 'kept']) {
      const [a, b] = duplexPair();
      let returned;
      const server = acceptTls(b, {
        openssl: ossl,
        findPsk: async () => {
          await sleep(1);
          returned = kind === 'cached' ? cached : ossl.createPskSession({ masterKey: key, cipher: SUITE });
          if (kind === 'kept') returned.keep();
          return returned;
        },
      });
      const client = connectTls(a, { psk: { identity: 'dev-1', key } });
      await Promise.all([client.opened, server.opened]);
      await Promise.all([client.close(), server.close()]);
      assert.equal(returned.freed, kind === 'made', kind);
      if (kind === 'kept') returned.free();
    }
    assert.equal(cached.freed, false);
    cached.free();
  });

  test('many handshakes wait at once, their lookups finishing out of order', async () => {
    const n = 12;
    const keys = Array.from({ length: n }, () => key32());
    const pending = [];
    const servers = [];
    const clients = [];
    for (let i = 0; i < n; i++) {
      const [a, b] = duplexPair();
      servers.push(
        acceptTls(b, {
          findPsk: (identity) =>
            new Promise((resolve) =>
              pending.push({ id: Number(str(identity).slice(4)), resolve: () => resolve({ key: keys[Number(str(identity).slice(4))] }) }),
            ),
        }),
      );
      clients.push(connectTls(a, { psk: { identity: `dev-${i}`, key: keys[i] } }));
    }
    for (let i = 0; i < 200 && pending.length < n; i++) await sleep(10);
    assert.equal(pending.length, n, 'every handshake waits for its lookup');
    // Answer in a scrambled order: each connection gets its own key.
    for (const p of pending.sort((x, y) => ((x.id * 7) % n) - ((y.id * 7) % n))) p.resolve();
    const infos = await Promise.all(servers.map((s) => s.opened));
    await Promise.all(clients.map((c) => c.opened));
    assert.ok(infos.every((i) => i.sessionReused));
    for (let i = 0; i < n; i++) assert.equal(await echoOnce(clients[i], servers[i], `to ${i}`), `to ${i}`);
    await Promise.all([...clients, ...servers].map((s) => s.close()));
  });

  test('early data through findPsk: accepted when the socket allows it (maxEarlyData)', async () => {
    const key = key32();
    const [a, b] = duplexPair();
    const server = acceptTls(b, { maxEarlyData: 1024, findPsk: async () => ({ key }) });
    const client = connectTls(a, { psk: { identity: 'ed', key }, earlyData: text('0-RTT ') });
    const [info] = await Promise.all([client.opened, server.opened]);
    assert.equal(info.earlyDataAccepted, true);
    const reader = server.readable.getReader();
    assert.equal(str((await reader.read()).value), '0-RTT ');
    reader.releaseLock();
    await Promise.all([client.close(), server.close()]);
  });

  test('findPsk excludes psk, pskFindSession and pskServer, needs a deferPskLookup context if given one; a TLS 1.2 client is refused with protocol_version', async () => {
    for (const extra of [{ psk: { identity: 'x', key: key32() } }, { pskFindSession: () => null }, { pskServer: () => null }]) {
      const [, b] = duplexPair();
      await assert.rejects(
        acceptTls(b, { findPsk: async () => null, ...extra }).opened,
        (e) => e.code === 'ERR_INVALID_ARGUMENT' && /excludes/.test(e.message),
      );
    }
    await assert.rejects(connectTls(duplexPair()[0], { findPsk: async () => null }).opened, { code: 'ERR_INVALID_ARGUMENT' });
    const plain = ossl.createContext({ role: 'server' });
    await assert.rejects(acceptTls(duplexPair()[1], { openssl: ossl, context: plain, findPsk: async () => null }).opened, /deferPskLookup: true/);
    plain.free();
    const deferred = ossl.createContext({ role: 'server', deferPskLookup: true });
    const k = key32();
    const [a2, b2] = duplexPair();
    const s2 = acceptTls(b2, { openssl: ossl, context: deferred, findPsk: async () => ({ key: k }) });
    const c2 = connectTls(a2, { psk: { identity: 'ctx', key: k } });
    await Promise.all([s2.opened, c2.opened]);
    await Promise.all([s2.close(), c2.close()]);
    deferred.free();
    const key = key32();
    const [a, b] = duplexPair();
    const server = acceptTls(b, { findPsk: async () => ({ key }) });
    const client = connectTls(a, { psk: { identity: 'old', key }, maxVersion: 'TLSv1.2' });
    await assert.rejects(server.opened, (e) => e.code === 'ERR_PROTOCOL_VERSION' && e.alert?.name === 'protocol_version');
    await assert.rejects(client.opened, { code: 'ERR_PROTOCOL_VERSION' });
  });
});
