// The facade's own rules: loading, lifetimes, argument checking, errors, the sans-IO engine's
// edges (close_notify, truncation, big writes), memory accounting and key hygiene.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compileOpenSSL, loadOpenSSL, TlsError } from '../lib/index.js';
import { loadOpenSSL as loadFullOpenSSL } from '../lib/full.js';
import { handshake, str, text, transfer, tryHandshake, owner } from './helpers/pair.js';
import { testPki } from './helpers/pki.js';
import { freeAll, key32 } from './helpers/psk.js';

const ossl = await loadOpenSSL();
/** The full build, for the tests with certificates. */
const full = await loadFullOpenSSL();
const wasmPath = new URL('../wasm/dist/openssl-psk.wasm', import.meta.url);

function pskPair(options = {}) {
  const session = ossl.createPskSession({ masterKey: options.key ?? key32(), cipher: 'TLS_AES_128_GCM_SHA256' });
  const cctx = ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session }), ...options.client });
  const sctx = ossl.createContext({ role: 'server', pskFindSession: () => session, ...options.server });
  const cc = cctx.createConnection();
  const sc = sctx.createConnection();
  return { session, cctx, sctx, cc, sc, free: () => freeAll(cc, sc, cctx, sctx, session) };
}

/** Runs `code` (an ES module body) in a fresh Node process; returns its stdout. */
function runNode(code, args = []) {
  const result = spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], {
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
    timeout: 30000,
  });
  if (result.status !== 0) throw new Error(`child failed (${result.status}): ${result.stderr}`);
  return result.stdout.trim();
}

describe('loading', () => {
  test('loadOpenSSL() gives independent instances, each seeded from the platform CSPRNG', async () => {
    const other = await loadOpenSSL();
    assert.notEqual(other, ossl);
    const a = ossl.randomBytes(32);
    const b = other.randomBytes(32);
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b, 'two instances draw different random bytes');
    assert.notDeepEqual(ossl.randomBytes(32), a);
  });

  test('two instances produce different client randoms', async () => {
    const randoms = [];
    for (let i = 0; i < 2; i++) {
      const instance = await loadOpenSSL();
      const ctx = instance.createContext({ role: 'client' });
      const conn = ctx.createConnection();
      conn.handshake();
      const hello = conn.drain(); // record header (5) + handshake header (4) + version (2), then 32 bytes of random
      randoms.push(Buffer.from(hello.subarray(11, 43)).toString('hex'));
      conn.free();
      ctx.free();
    }
    assert.notEqual(randoms[0], randoms[1]);
  });

  test('the .wasm can be given as bytes, as a compiled module, or by URL', async () => {
    const bytes = readFileSync(wasmPath);
    const fromBytes = await loadOpenSSL({ wasmBinary: bytes });
    const fromModule = await loadOpenSSL({ module: await compileOpenSSL() });
    const fromUrl = await loadOpenSSL({ wasmUrl: wasmPath });
    for (const instance of [fromBytes, fromModule, fromUrl]) assert.equal(instance.version, ossl.version);
    assert.equal(await compileOpenSSL(), await compileOpenSSL(), 'compiled once per URL');
  });

  test('a .wasm that is not ours fails to load with ERR_WASM_LOAD', async () => {
    await assert.rejects(loadOpenSSL({ wasmBinary: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]) }), { code: 'ERR_WASM_LOAD' });
    await assert.rejects(loadOpenSSL({ wasmBinary: new Uint8Array([1, 2, 3]) }), { code: 'ERR_WASM_LOAD' });
    await assert.rejects(loadOpenSSL({ wasmUrl: new URL('./no-such.wasm', wasmPath) }), { code: 'ERR_WASM_LOAD' });
  });

  test('without WebAssembly (node --jitless) loading fails with ERR_WASM_LOAD saying why', () => {
    const out = runNode(
      "import { loadOpenSSL } from './lib/index.js'; loadOpenSSL().then(() => console.log('loaded'), (e) => console.log(e.code, e.message));",
      ['--jitless'],
    );
    assert.match(out, /^ERR_WASM_LOAD .*no WebAssembly/);
  });

  test('without crypto.getRandomValues the module refuses to run (ERR_NO_CSPRNG)', () => {
    const out = runNode(`
      Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
      const { loadOpenSSL } = await import('./lib/index.js');
      try { await loadOpenSSL(); console.log('loaded'); } catch (e) { console.log(e.code); }
    `);
    assert.equal(out, 'ERR_NO_CSPRNG');
  });

  test('a CSPRNG that fails while seeding also stops it (ERR_NO_CSPRNG), never a weak seed', () => {
    const out = runNode(`
      const broken = { getRandomValues() { throw new Error('entropy source gone'); } };
      Object.defineProperty(globalThis, 'crypto', { value: broken, configurable: true });
      const { loadOpenSSL } = await import('./lib/index.js');
      try { await loadOpenSSL(); console.log('loaded'); } catch (e) { console.log(e.code, e.cause?.message); }
    `);
    assert.equal(out, 'ERR_NO_CSPRNG entropy source gone');
  });
});

describe('lifetimes', () => {
  test('free() is idempotent; any other use after it is ERR_USE_AFTER_FREE', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    p.free();
    p.free();
    for (const use of [
      () => p.cc.handshake(),
      () => p.cc.feed(new Uint8Array(1)),
      () => p.cc.protocol,
      () => p.cctx.createConnection(),
      () => p.session.cipher,
      () => p.session.setMaxEarlyData(1),
    ]) {
      assert.throws(use, { code: 'ERR_USE_AFTER_FREE' });
    }
    assert.equal(p.cc.freed, true);
  });

  test('[Symbol.dispose] frees (what `using` calls at the end of a block)', (t) => {
    const own = owner(t);
    const session = own(ossl.createPskSession({ masterKey: key32(), cipher: 'TLS_AES_128_GCM_SHA256' }));
    const ctx = own(ossl.createContext({ role: 'client' }));
    const conn = own(ctx.createConnection());
    for (const o of [conn, ctx, session]) {
      assert.equal(o.freed, false);
      o[Symbol.dispose]();
      assert.equal(o.freed, true);
    }
  });

  test('freeing a context leaves its connections working (they hold their own reference)', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    p.cctx.free();
    p.sctx.free();
    handshake(p.cc, p.sc);
    assert.equal(str(transfer(p.cc, p.sc, text('still here'))), 'still here');
  });

  test("a connection copies its context's callbacks when created, as SSL_new does", (t) => {
    const own = owner(t);
    const p = own(pskPair());
    p.cctx.setPskUseSessionCallback(() => false); // too late for p.cc
    handshake(p.cc, p.sc);
    const later = own(p.cctx.createConnection());
    assert.equal(tryHandshake(later, own(p.sctx.createConnection())).client?.code, 'ERR_PSK_CALLBACK');
  });

  test("an object dropped without free() is reported, never freed behind OpenSSL's back", () => {
    const out = runNode(
      `
      const { loadOpenSSL, onLeak } = await import('./lib/index.js');
      const ossl = await loadOpenSSL();
      const leaks = [];
      onLeak((what) => leaks.push(what));
      (() => { ossl.createContext({ role: 'client' }); })();
      for (let i = 0; i < 10 && leaks.length === 0; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(leaks.join(','));
    `,
      ['--expose-gc'],
    );
    assert.equal(out, 'SslContext');
  });
});

describe('the trap guard (every call into the module, generated from opw.h)', () => {
  test('a trap puts the stack pointer back, is ERR_WASM_TRAP, and the instance refuses all work after it', async () => {
    // Nothing to free at the end: the instance is gone, and what it held with it.
    const instance = await loadOpenSSL();
    const { shim, module } = instance.runtime;
    const session = instance.createPskSession({ masterKey: key32(), cipher: 'TLS_AES_128_GCM_SHA256' });
    const sp = module.stackSave();
    // A session pointer past the end of memory: PEM_write_bio_SSL_SESSION traps a few frames down.
    assert.throws(
      () => shim.sessionToPem(0xfffffff0, 0),
      (error) => error.code === 'ERR_WASM_TRAP' && error.cause instanceof WebAssembly.RuntimeError,
    );
    assert.equal(module.stackSave(), sp, 'the frames the trap left are gone from the stack');
    assert.throws(() => instance.createContext({ role: 'client' }), { code: 'ERR_WASM_TRAP', message: /trapped earlier/ });
    assert.throws(() => session.toPem(), { code: 'ERR_WASM_TRAP' });
    assert.throws(() => instance.heapStats(), { code: 'ERR_WASM_TRAP' });
    assert.equal(ossl.createContext({ role: 'client' }).free(), undefined, 'other instances go on');
    assert.throws(() => session.free(), { code: 'ERR_WASM_TRAP' }); // no longer tracked, though its instance cannot release it
  });
});

describe('callbacks calling back', () => {
  test('a callback that frees or drives its own connection gets ERR_REENTRANT as the failure cause', (t) => {
    const own = owner(t);
    for (const action of [(conn) => conn.free(), (conn) => conn.handshake(), (conn) => conn.setPskUseSessionCallback(null)]) {
      const p = own(pskPair({ client: { pskUseSession: (conn) => (action(conn), null) } }));
      const r = tryHandshake(p.cc, p.sc);
      assert.equal(r.client?.code, 'ERR_PSK_CALLBACK');
      assert.equal(r.client.cause?.code, 'ERR_REENTRANT');
      assert.equal(p.cc.freed, false);
      p.free();
    }
  });

  test('a callback may use other connections of the same instance meanwhile', (t) => {
    const own = owner(t);
    const inner = own(pskPair());
    const outer = pskPair({
      client: {
        pskUseSession: () => {
          handshake(inner.cc, inner.sc);
          return { identity: 'dev-1', session: outer.session };
        },
      },
    });
    handshake(outer.cc, outer.sc);
    assert.equal(inner.cc.sessionReused, true);
    assert.equal(outer.cc.sessionReused, true);
    inner.free();
    outer.free();
  });
});

describe('arguments and settings', () => {
  test('bad context options are refused with what to do', () => {
    const cases = [
      [{ role: 'both' }, 'ERR_INVALID_ARGUMENT', /role must be/],
      [{ role: 'client', cipherSuites: 'x' }, 'ERR_INVALID_ARGUMENT', /unknown context option "cipherSuites"/],
      [{ role: 'client', maxVersion: 'TLSv1.1' }, 'ERR_INVALID_ARGUMENT', /'TLSv1.2' or 'TLSv1.3'/],
      [{ role: 'client', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }, 'ERR_INVALID_ARGUMENT', /above/],
      [{ role: 'client', ciphersuites: 'TLS_NOPE' }, 'ERR_CONFIG', /ciphersuites "TLS_NOPE"/],
      [{ role: 'client', cipherList: 'RC4-SHA' }, 'ERR_CONFIG', /cipherList/],
      [{ role: 'client', groups: ['X25519', 'brainpool'] }, 'ERR_CONFIG', /groups/],
      [{ role: 'server', maxEarlyData: -1 }, 'ERR_INVALID_ARGUMENT', /maxEarlyData/],
      [{ role: 'client', allowNoDheKex: 'yes' }, 'ERR_INVALID_ARGUMENT', /true or false/],
      [{ role: 'server', certificate: 'not PEM' }, 'ERR_FULL_BUILD_REQUIRED', /import from 'openssl-psk-wasm\/full'/],
      [{ role: 'client', pskUseSession: 'callback' }, 'ERR_INVALID_ARGUMENT', /function or null/],
      [{ role: 'server', pskIdentityHint: 'h'.repeat(129) }, 'ERR_PSK_IDENTITY_TOO_LONG', /128 bytes/],
    ];
    for (const [options, code, message] of cases) {
      assert.throws(
        () => ossl.createContext(options),
        (e) => e instanceof TlsError && e.code === code && message.test(e.message),
        JSON.stringify(options),
      );
    }
  });

  test('the full build: a certificate that is not PEM is refused', () => {
    assert.throws(
      () => full.createContext({ role: 'server', certificate: 'not PEM' }),
      (e) => e instanceof TlsError && e.code === 'ERR_CERTIFICATE' && /certificate could not be loaded/.test(e.message),
    );
  });

  test('the full build: a private key that does not match the certificate is refused', () => {
    const pki = testPki();
    const otherKey = execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], { encoding: 'utf8' });
    assert.throws(
      () => full.createContext({ role: 'server', certificate: pki.certificate, privateKey: otherKey }),
      (e) => {
        assert.equal(e.code, 'ERR_CERTIFICATE');
        assert.ok(
          e.openssl.some((line) => /key values mismatch/.test(line)),
          e.openssl.join('\n'),
        );
        return true;
      },
    );
  });

  test('PSK sessions: keys above 48 bytes and non-TLS 1.3 suites are refused, never truncated', (t) => {
    const own = owner(t);
    assert.throws(() => ossl.createPskSession({ masterKey: new Uint8Array(49), cipher: 'TLS_AES_256_GCM_SHA384' }), { code: 'ERR_PSK_KEY_TOO_LONG' });
    assert.throws(() => ossl.createPskSession({ masterKey: new Uint8Array(0), cipher: 'TLS_AES_256_GCM_SHA384' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => ossl.createPskSession({ masterKey: key32(), cipher: 'PSK-AES128-GCM-SHA256' }), /not a TLS 1.3 suite/);
    assert.throws(() => ossl.createPskSession({ masterKey: 'secret', cipher: 'TLS_AES_128_GCM_SHA256' }), { code: 'ERR_INVALID_ARGUMENT' });
    const max = own(ossl.createPskSession({ masterKey: new Uint8Array(48).fill(1), cipher: 'TLS_AES_128_GCM_SHA256' }));
    assert.equal(max.masterKeyLength, 48);
  });

  test('a TLS 1.3 identity longer than 65535 bytes is refused, never truncated', (t) => {
    const own = owner(t);
    const p = own(pskPair({ client: { pskUseSession: () => ({ identity: new Uint8Array(65536), session: p.session }) } }));
    const r = tryHandshake(p.cc, p.sc);
    assert.equal(r.client?.code, 'ERR_PSK_IDENTITY_TOO_LONG');
  });

  test('a TLS 1.3 identity that does not fit its ClientHello is ERR_PSK_IDENTITY_TOO_LONG; 64,000 bytes always fit', (t) => {
    const own = owner(t);
    // The identity shares the ClientHello's 65,535 bytes of extensions with the others: with
    // the full build's defaults, 65,353 bytes fit and 65,354 do not (the PSK build's ClientHello,
    // without X448 and the certificate signature algorithms, is shorter). That is the documented
    // error, not ERR_HANDSHAKE.
    for (const length of [65460, 65500, 65535]) {
      const p = own(pskPair({ client: { pskUseSession: () => ({ identity: new Uint8Array(length).fill(0x69), session: p.session }) } }));
      const r = tryHandshake(p.cc, p.sc);
      assert.equal(r.client?.code, 'ERR_PSK_IDENTITY_TOO_LONG', `${length}: ${r.client?.message}`);
      assert.match(r.client.message, new RegExp(`${length} bytes.*64,000`));
      p.free();
    }
    // The documented bound, with the largest ClientHello this client sends: a SHA-384 PSK that
    // allows early data, a P-521 key share, every group, a 253-character server name; in both
    // builds (the full one has X448 as well).
    for (const [openssl, groups] of [
      [ossl, 'P-521:P-384:P-256:X25519'],
      [full, 'P-521:X448:P-384:P-256:X25519'],
    ]) {
      const session = own(openssl.createPskSession({ masterKey: new Uint8Array(48).fill(2), cipher: 'TLS_AES_256_GCM_SHA384', maxEarlyData: 1024 }));
      const cctx = own(
        openssl.createContext({
          role: 'client',
          groups,
          pskUseSession: () => ({ identity: new Uint8Array(64000).fill(0x6a), session }),
        }),
      );
      const sctx = own(openssl.createContext({ role: 'server', maxEarlyData: 1024, groups: 'P-521', pskFindSession: () => session }));
      const cc = own(cctx.createConnection({ serverName: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}` }));
      const sc = own(sctx.createConnection());
      cc.writeEarlyData(text('early'));
      handshake(cc, sc);
      assert.equal(cc.sessionReused, true, groups);
    }
  });

  test('feed() and write() take Uint8Array views and honour their offset and length', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    const big = text('xxxxhello, viewyyyy');
    p.cc.write(big.subarray(4, 15));
    const wire = p.cc.drain();
    const padded = new Uint8Array(wire.length + 10);
    padded.set(wire, 5);
    p.sc.feed(padded.subarray(5, 5 + wire.length));
    assert.equal(str(p.sc.read()), 'hello, view');
    assert.throws(() => p.cc.write('text'), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => p.cc.feed([1, 2]), { code: 'ERR_INVALID_ARGUMENT' });
  });
});

describe('the engine', () => {
  test('1 MiB each way arrives byte for byte, in records of at most 16 KiB', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    const data = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) >>> 3);
    p.cc.write(data);
    p.sc.feed(p.cc.drain());
    const chunks = [];
    for (let chunk; (chunk = p.sc.read());) {
      assert.ok(chunk.length <= 16384);
      chunks.push(chunk);
    }
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(data));
    assert.deepEqual(transfer(p.sc, p.cc, data), data);
  });

  test('drainInto() and readInto() move the same bytes into buffers the caller reuses, in pieces of any size', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) >>> 5);
    p.cc.write(data);
    const wire = new Uint8Array(1000); // smaller than a record: drainInto() is called many times
    let moved = 0;
    for (let n; (n = p.cc.drainInto(wire)) > 0; moved += n) p.sc.feed(wire.subarray(0, n));
    assert.equal(p.cc.drainInto(wire), 0);
    const got = new Uint8Array(data.length);
    const target = new Uint8Array(6000);
    let filled = 0;
    for (let n; (n = p.sc.readInto(target)) !== null; filled += n) {
      assert.ok(n > 0 && n <= target.length);
      got.set(target.subarray(0, n), filled);
    }
    assert.equal(filled, data.length);
    assert.deepEqual(got, data);
    p.cc.write(data);
    const drained = p.cc.drain();
    assert.equal(drained.length, moved, 'drainInto() gave as much as drain() gives for the same write');
    p.sc.feed(drained);
    const again = [];
    for (let chunk; (chunk = p.sc.read());) again.push(chunk);
    assert.deepEqual(Buffer.concat(again), Buffer.from(data));
    assert.equal(str(transfer(p.sc, p.cc, text('and back'))), 'and back');
    assert.throws(() => p.sc.readInto(new Uint8Array(0)), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => p.cc.drainInto(new Uint8Array(0)), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => p.sc.readInto('buffer'), { code: 'ERR_INVALID_ARGUMENT' });
    p.sc.feedEnd();
    assert.throws(() => p.sc.readInto(target), { code: 'ERR_TRUNCATED' }, 'errors as read() gives them');
  });

  test('write() before the handshake is done is ERR_HANDSHAKE_INCOMPLETE; nothing is dropped silently', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    assert.throws(() => p.cc.write(text('too early')), { code: 'ERR_HANDSHAKE_INCOMPLETE' });
    assert.throws(() => p.cc.shutdown(), { code: 'ERR_HANDSHAKE_INCOMPLETE' });
    handshake(p.cc, p.sc);
    assert.equal(str(transfer(p.cc, p.sc, text('now'))), 'now');
  });

  test('close_notify: shutdown() sends it, the peer sees peerClosed, answers, and both are complete', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    assert.equal(p.cc.shutdown(), 'sent');
    assert.equal(p.cc.closeSent, true);
    p.sc.feed(p.cc.drain());
    assert.equal(p.sc.read(), null);
    assert.equal(p.sc.peerClosed, true);
    assert.equal(p.sc.shutdown(), 'complete');
    p.cc.feed(p.sc.drain());
    assert.equal(p.cc.read(), null);
    assert.equal(p.cc.peerClosed, true);
    assert.equal(p.cc.shutdown(), 'complete');
    assert.throws(() => p.cc.write(text('after close')), { code: 'ERR_PROTOCOL' });
  });

  test('the stream ending without close_notify is ERR_TRUNCATED, not an end of file; it sticks', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    p.cc.write(text('cut'));
    p.sc.feed(p.cc.drain());
    assert.equal(str(p.sc.read()), 'cut');
    p.sc.feedEnd();
    assert.throws(() => p.sc.read(), { code: 'ERR_TRUNCATED' });
    assert.throws(() => p.sc.read(), { code: 'ERR_TRUNCATED' });
  });

  test('garbage from the peer fails the handshake with a typed error, and an alert where TLS has one', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    p.sc.feed(text('GET / HTTP/1.1\r\nHost: example\r\n\r\n'));
    assert.throws(
      () => p.sc.handshake(),
      (e) => {
        assert.equal(e.code, 'ERR_HANDSHAKE');
        assert.match(e.message, /http request/);
        assert.equal(e.alert, undefined, 'OpenSSL sends no alert to something that is not TLS');
        return true;
      },
    );
    // A TLS record holding a truncated ClientHello: decode_error.
    const q = own(pskPair());
    q.sc.feed(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03]));
    assert.throws(
      () => q.sc.handshake(),
      (e) => {
        assert.equal(e.code, 'ERR_HANDSHAKE');
        assert.deepEqual([e.alert?.direction, e.alert?.level], ['sent', 'fatal']);
        return true;
      },
    );
    assert.ok(q.sc.drain().length > 0, 'the alert is there to send');
    // The other connections of the instance are unaffected.
    const r = own(pskPair());
    handshake(r.cc, r.sc);
    assert.equal(r.cc.sessionReused, true);
  });
});

describe('secret keys', () => {
  test('importSecret() keeps a key in wasm memory only; wipe clears the source; free() cleanses it', async (t) => {
    const own = owner(t);
    const instance = await loadOpenSSL();
    const memory = () => Buffer.from(instance.runtime.heap.u8.buffer, 0, instance.runtime.heap.u8.length);
    const bytes = key32();
    const original = Uint8Array.from(bytes);
    const secret = instance.importSecret(bytes, { wipe: true });
    assert.ok(
      bytes.every((b) => b === 0),
      'the source is wiped',
    );
    assert.equal(secret.length, 32);
    assert.ok(memory().indexOf(Buffer.from(original)) >= 0);
    // Usable wherever a key is: a TLS 1.3 session, and the TLS 1.2 callbacks on both sides.
    const session = own(instance.createPskSession({ masterKey: secret, cipher: 'TLS_AES_128_GCM_SHA256' }));
    const peerSession = own(instance.createPskSession({ masterKey: original, cipher: 'TLS_AES_128_GCM_SHA256' }));
    const c13 = own(instance.createContext({ role: 'client', pskUseSession: () => ({ identity: 'k', session }) }));
    const s13 = own(instance.createContext({ role: 'server', pskFindSession: () => peerSession }));
    const c12 = own(instance.createContext({ role: 'client', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskClient: () => ({ identity: 'k', psk: secret }) }));
    const s12 = own(instance.createContext({ role: 'server', pskServer: () => original }));
    const conns = [c13.createConnection(), s13.createConnection(), c12.createConnection(), s12.createConnection()];
    handshake(conns[0], conns[1]);
    handshake(conns[2], conns[3]);
    assert.equal(str(transfer(conns[2], conns[3], text('secret key'))), 'secret key');
    freeAll(...conns, c13, s13, c12, s12, session, peerSession, secret);
    assert.equal(memory().indexOf(Buffer.from(original)), -1, 'no copy left once everything is freed');
    assert.throws(() => secret.pointer, { code: 'ERR_USE_AFTER_FREE' });
  });

  test('a SecretKey belongs to its instance: another instance refuses it', async () => {
    const other = await loadOpenSSL();
    const secret = other.importSecret(key32());
    assert.throws(() => ossl.createPskSession({ masterKey: secret, cipher: 'TLS_AES_128_GCM_SHA256' }), /another OpenSSL instance/);
    secret.free();
  });
});

describe('memory', () => {
  test('heapStats() counts live allocations: connections raise it, free() brings it back', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    const before = ossl.heapStats();
    assert.ok(before.memoryBytes >= before.inUseBytes && before.inUseBytes > 0);
    const conns = Array.from({ length: 20 }, () => p.cctx.createConnection());
    const during = ossl.heapStats().inUseBytes;
    assert.ok(during > before.inUseBytes + 20 * 1000, `${during} vs ${before.inUseBytes}`);
    freeAll(...conns);
    assert.equal(ossl.heapStats().inUseBytes, before.inUseBytes);
  });

  test('no copy of a PSK is left in wasm memory once its sessions and connections are freed', async (t) => {
    const own = owner(t);
    const instance = await loadOpenSSL();
    const memory = () => instance.runtime.heap.u8;
    const find = (key) => Buffer.from(memory().buffer, 0, memory().length).indexOf(Buffer.from(key));
    const key = key32();
    const tls12Key = key32();
    const session = own(instance.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }));
    assert.ok(find(key) >= 0, 'the session holds the key while it lives');
    const cctx = own(instance.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session }) }));
    const sctx = own(instance.createContext({ role: 'server', pskFindSession: () => session }));
    const c12 = own(instance.createContext({ role: 'client', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskClient: () => ({ identity: 'x', psk: tls12Key }) }));
    const s12 = own(instance.createContext({ role: 'server', pskServer: () => tls12Key }));
    const conns = [cctx.createConnection(), sctx.createConnection(), c12.createConnection(), s12.createConnection()];
    handshake(conns[0], conns[1]);
    handshake(conns[2], conns[3]);
    freeAll(...conns, cctx, sctx, c12, s12, session);
    assert.equal(find(key), -1, 'TLS 1.3 PSK');
    assert.equal(find(tls12Key), -1, 'TLS 1.2 PSK');
  });
});
