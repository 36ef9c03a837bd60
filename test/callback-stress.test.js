// PSK callbacks under stress: hundreds of handshakes whose callbacks throw anything, return
// anything (wrong types, oversized identities and keys, freed or foreign sessions, keys of
// any length for the digest) or call back into the library. Every handshake ends in success
// or a typed TlsError, the module never traps, no memory is lost, and afterwards the instance
// still does correct handshakes (nothing was corrupted).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadOpenSSL, TlsError } from '../lib/index.js';
import { handshake, owner, str, text, transfer, tryHandshake } from './helpers/pair.js';
import { freeAll } from './helpers/psk.js';

const ossl = await loadOpenSSL();
const foreign = await loadOpenSSL();
/** SecretKeys of the other instance that callbacks answer with (refused): freed at the end. */
const foreignKeys = { made: [], use: (k) => (foreignKeys.made.push(k), k) };

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
function prng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const KEY = new Uint8Array(32).fill(0x42);
const good = ossl.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_128_GCM_SHA256' });
const sha384 = ossl.createPskSession({ masterKey: new Uint8Array(16).fill(1), cipher: 'TLS_AES_256_GCM_SHA384' });
const foreignSession = foreign.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_128_GCM_SHA256' });
const freed = ossl.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_128_GCM_SHA256' });
freed.free();
after(() => freeAll(good, sha384, foreignSession));

/** What a misbehaving callback may do, given the connection it was called for. */
function behaviours(kind) {
  const valid = {
    useSession: () => ({ identity: 'dev', session: good }),
    client: () => ({ identity: 'dev', psk: KEY }),
    findSession: () => good,
    server: () => KEY,
  }[kind];
  return [
    valid,
    () => {
      throw new Error('an Error');
    },
    () => {
      throw 'a string';
    },
    () => {
      throw undefined;
    },
    () => 42,
    () => 'text',
    () => ({}),
    () => [],
    () => ({ identity: 7, session: good, psk: 'nope' }),
    () => ({ identity: 'dev', session: foreignSession, psk: KEY }),
    () => ({ identity: 'dev', session: freed, psk: KEY }),
    () => (kind === 'findSession' ? foreignSession : kind === 'server' ? new Uint8Array(300) : { identity: 'x'.repeat(70000), session: good, psk: KEY }),
    () =>
      kind === 'findSession'
        ? freed
        : kind === 'server'
          ? foreignKeys.use(foreign.importSecret(KEY))
          : { identity: 'y'.repeat(200), session: sha384, psk: new Uint8Array(257) },
    () =>
      kind === 'findSession' || kind === 'useSession'
        ? kind === 'findSession'
          ? sha384
          : { identity: 'dev', session: sha384 }
        : { identity: 'dev', psk: new Uint8Array(7).fill(3) },
    (conn) => (conn.handshake(), valid()),
    (conn) => (conn.free(), valid()),
    (conn) => (conn.write(text('x')), valid()),
    () => (ossl.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_128_GCM_SHA256' }).free(), valid()),
    () => {
      const ctx = ossl.createContext({ role: 'client' });
      const other = ctx.createConnection();
      other.handshake(); // another connection of the instance, driven from inside a callback
      other.free();
      ctx.free();
      return valid();
    },
    () => null,
    () => false,
  ];
}

test('400 handshakes with randomly misbehaving callbacks: only successes and typed errors, no trap, no leak', () => {
  const random = prng(0xc0ffee);
  const kinds = ['useSession', 'client', 'findSession', 'server'];
  const table = Object.fromEntries(kinds.map((k) => [k, behaviours(k)]));
  const outcomes = new Map();
  const baseline = ossl.heapStats().inUseBytes;
  for (let i = 0; i < 400; i++) {
    const pick = (kind) => table[kind][random(table[kind].length)];
    const tls12 = random(3) === 0;
    const cctx = ossl.createContext({
      role: 'client',
      ...(tls12 ? { maxVersion: 'TLSv1.2', cipherList: 'PSK-AES128-GCM-SHA256' } : {}),
      pskUseSession: pick('useSession'),
      pskClient: pick('client'),
    });
    const sctx = ossl.createContext({ role: 'server', pskFindSession: pick('findSession'), pskServer: pick('server') });
    const cc = cctx.createConnection();
    const sc = sctx.createConnection();
    let result;
    try {
      result = tryHandshake(cc, sc);
    } catch (error) {
      assert.fail(`round ${i}: the handshake loop itself failed: ${error}`);
    }
    for (const error of [result.client, result.server]) {
      if (error === null) continue;
      assert.ok(error instanceof TlsError, `round ${i}: not a TlsError: ${error}`);
      assert.notEqual(error.code, 'ERR_WASM_TRAP', `round ${i}`);
      outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
    }
    if (!result.client && !result.server) outcomes.set('success', (outcomes.get('success') ?? 0) + 1);
    for (const o of [cc, sc, cctx, sctx]) o.free();
  }
  assert.ok((outcomes.get('success') ?? 0) > 0, 'some rounds succeed');
  assert.ok(outcomes.size >= 6, `a variety of outcomes: ${[...outcomes.keys()]}`);
  for (const code of outcomes.keys()) {
    assert.ok(
      [
        'success',
        'ERR_PSK_CALLBACK',
        'ERR_INVALID_ARGUMENT',
        'ERR_USE_AFTER_FREE',
        'ERR_PSK_IDENTITY_TOO_LONG',
        'ERR_PSK_KEY_TOO_LONG',
        'ERR_PSK_WRONG_KEY',
        'ERR_PSK_UNKNOWN_IDENTITY',
        'ERR_PSK_DIGEST_MISMATCH',
        'ERR_NO_SHARED_CIPHER',
        'ERR_HANDSHAKE',
      ].includes(code),
      `unexpected ${code}`,
    );
  }
  // Connections the callbacks created on their own were freed; SecretKeys of the other instance belong to it.
  assert.equal(ossl.heapStats().inUseBytes, baseline, 'no memory lost');
  for (const k of foreignKeys.made.splice(0)) k.free();

  // Nothing was corrupted: correct handshakes, and the sessions still hold their keys.
  for (let i = 0; i < 3; i++) {
    const cctx = ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev', session: good }) });
    const sctx = ossl.createContext({ role: 'server', pskFindSession: () => ossl.createPskSession({ masterKey: KEY, cipher: 'TLS_AES_128_GCM_SHA256' }) });
    const cc = cctx.createConnection();
    const sc = sctx.createConnection();
    handshake(cc, sc);
    assert.equal(cc.sessionReused, true);
    assert.equal(str(transfer(cc, sc, text('intact'))), 'intact');
    for (const o of [cc, sc, cctx, sctx]) o.free();
  }
});

test("keys of any length for the digest work when both sides agree (RFC 8446 does not tie a PSK's length to its hash)", (t) => {
  const own = owner(t);
  for (const [length, cipher] of [
    [16, 'TLS_AES_256_GCM_SHA384'],
    [48, 'TLS_AES_128_GCM_SHA256'],
    [1, 'TLS_CHACHA20_POLY1305_SHA256'],
  ]) {
    const key = new Uint8Array(length).fill(9);
    const a = own(ossl.createPskSession({ masterKey: key, cipher }));
    const b = own(ossl.createPskSession({ masterKey: key, cipher }));
    const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev', session: a }) }));
    const sctx = own(ossl.createContext({ role: 'server', pskFindSession: () => b }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(cc.cipher.handshakeDigest.name, cipher.endsWith('SHA384') ? 'SHA384' : 'SHA256');
  }
  // Different lengths are different keys: a clean ERR_PSK_WRONG_KEY, never an overread.
  const short = own(ossl.createPskSession({ masterKey: new Uint8Array(16).fill(9), cipher: 'TLS_AES_128_GCM_SHA256' }));
  const long = own(ossl.createPskSession({ masterKey: new Uint8Array(32).fill(9), cipher: 'TLS_AES_128_GCM_SHA256' }));
  const r = tryHandshake(
    own(own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev', session: short }) })).createConnection()),
    own(own(ossl.createContext({ role: 'server', pskFindSession: () => long })).createConnection()),
  );
  assert.deepEqual([r.client?.code, r.server?.code], ['ERR_PSK_WRONG_KEY', 'ERR_PSK_WRONG_KEY']);
});

test('objects of another instance are refused, never read from the wrong memory', (t) => {
  const own = owner(t);
  const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev', session: foreignSession }) }));
  const sctx = own(ossl.createContext({ role: 'server', pskFindSession: () => good }));
  const r = tryHandshake(own(cctx.createConnection()), own(sctx.createConnection()));
  assert.equal(r.client?.code, 'ERR_INVALID_ARGUMENT');
  assert.match(r.client.message, /another OpenSSL instance/);
  const bare = own(ossl.createContext({ role: 'client' }));
  const conn = own(bare.createConnection());
  assert.throws(() => conn.setSession(foreignSession), /another OpenSSL instance/);
  assert.throws(() => ossl.createPskSession({ masterKey: KEY, cipher: foreign.findCipher('TLS_AES_128_GCM_SHA256') }), { code: 'ERR_INVALID_ARGUMENT' });
});

/** Thrown values that resist description: every way of reading them throws. */
function indescribable(which) {
  const boom = () => {
    throw new Error('you cannot read me');
  };
  switch (which % 5) {
    case 0: // an Error whose message getter throws
      return Object.defineProperty(new Error('x'), 'message', { get: boom });
    case 1: // a plain object whose toString throws
      return { toString: boom, valueOf: boom };
    case 2: // a Proxy whose every trap throws: even `instanceof` on it throws
      return new Proxy({}, { get: boom, getPrototypeOf: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom });
    case 3: // an Error subclass whose name and message getters throw
      return new (class extends Error {
        get name() {
          return boom();
        }
        get message() {
          return boom();
        }
      })();
    default: // a Symbol: a template literal of it throws
      return Symbol('thrown');
  }
}

test('1,000 callbacks throwing values whose description throws: each a TlsError with the value as cause; the instance keeps working', (t) => {
  const own = owner(t);
  const instance = foreign; // its own instance: a trap here must not take the other tests with it
  const key = new Uint8Array(32).fill(0x33);
  const session = own(instance.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }));
  const kinds = ['pskUseSession', 'pskClient', 'pskFindSession', 'pskServer', 'onKeylog'];
  const warm = () => {
    const cctx = instance.createContext({ role: 'client', pskUseSession: () => ({ identity: 'x', session }) });
    const sctx = instance.createContext({ role: 'server', pskFindSession: () => session });
    const cc = cctx.createConnection();
    const sc = sctx.createConnection();
    handshake(cc, sc);
    for (const o of [cc, sc, cctx, sctx]) o.free();
  };
  warm();
  let baseline = null;
  const seen = new Map();
  for (let i = 0; i < 1025; i++) {
    if (i === 25) baseline = instance.heapStats().inUseBytes; // after each kind has run five times
    const thrown = indescribable(i);
    const kind = kinds[i % kinds.length];
    const thrower = () => {
      throw thrown;
    };
    const tls12 = kind === 'pskClient' || kind === 'pskServer';
    const client = {
      role: 'client',
      ...(tls12
        ? { maxVersion: 'TLSv1.2', cipherList: 'PSK-AES128-GCM-SHA256', pskClient: () => ({ identity: 'x', psk: key }) }
        : { pskUseSession: () => ({ identity: 'x', session }) }),
    };
    const server = { role: 'server', pskFindSession: () => session, pskServer: () => key };
    (kind.startsWith('psk') && (kind === 'pskUseSession' || kind === 'pskClient') ? client : server)[kind] = thrower;
    const cctx = instance.createContext(client);
    const sctx = instance.createContext(server);
    const cc = cctx.createConnection();
    const sc = sctx.createConnection();
    const result = tryHandshake(cc, sc);
    const error = result.client?.cause === thrown ? result.client : result.server;
    assert.ok(error instanceof TlsError, `round ${i} (${kind}): ${typeof error}`);
    assert.equal(error.cause, thrown, `round ${i} (${kind}): the thrown value is the cause`);
    assert.match(error.code, kind === 'onKeylog' ? /^ERR_CALLBACK$/ : /^ERR_PSK_CALLBACK$/);
    assert.equal(typeof error.message, 'string');
    if (i >= 25) seen.set(kind, (seen.get(kind) ?? 0) + 1);
    for (const o of [cc, sc, cctx, sctx]) o.free();
  }
  assert.deepEqual([...seen.values()], [200, 200, 200, 200, 200]);
  warm();
  assert.equal(instance.heapStats().inUseBytes, baseline, 'no memory lost');
});
