// SSL_CTX_set_psk_use_session_callback(3), the TLS 1.3 use-session callback, sentence by
// sentence: each test is named after the sentence of the man page it checks. A wasm client and
// a wasm server in memory; the interop tests check the same against native OpenSSL and GnuTLS.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadOpenSSL, TlsConnection, TlsError } from '../lib/index.js';
import { handshake, str, text, transfer, tryHandshake, owner } from './helpers/pair.js';
import { loadOpenSSL as loadFullOpenSSL } from '../lib/full.js';
import { testPki } from './helpers/pki.js';
import { freeAll, key32, key48, pskClient, pskServer } from './helpers/psk.js';

const ossl = await loadOpenSSL();
/** The full build: the tests that use certificates run on it (the PSK build has none). */
const full = await loadFullOpenSSL();
const AES128 = 'TLS_AES_128_GCM_SHA256';
const AES256 = 'TLS_AES_256_GCM_SHA384';
const CHACHA = 'TLS_CHACHA20_POLY1305_SHA256';

function psk(cipher = AES128, options = {}) {
  return ossl.createPskSession({ masterKey: cipher === AES256 ? key48() : key32(), cipher, ...options });
}

/** Both sides share `session` under 'dev-1'; returns the two connections after a handshake. */
function pskPair({ session = psk(), client = {}, server = {}, identity = 'dev-1' } = {}) {
  const c = pskClient(ossl, identity, session, client);
  const s = pskServer(ossl, new Map([[typeof identity === 'string' ? identity : Buffer.from(identity).toString('latin1'), session]]), server);
  const cc = c.ctx.createConnection();
  const sc = s.ctx.createConnection();
  return { c, s, cc, sc, session, free: () => freeAll(cc, sc, c.ctx, s.ctx, session) };
}

describe('DESCRIPTION', () => {
  test('"A client application wishing to use TLSv1.3 PSKs should use either SSL_CTX_set_psk_use_session_callback() or SSL_set_psk_use_session_callback()"', (t) => {
    const own = owner(t);
    // Context-level callback.
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    assert.equal(p.cc.protocol, 'TLSv1.3');
    assert.equal(p.cc.sessionReused, true);
    assert.equal(p.c.calls.length, 1);
    p.free();

    // Connection-level callback, on a context that has none.
    const session = own(psk());
    const cctx = own(ossl.createContext({ role: 'client' }));
    const { ctx: sctx } = pskServer(ossl, new Map([['conn-level', session]]));
    own(sctx);
    const cc = own(cctx.createConnection());
    let called = 0;
    cc.setPskUseSessionCallback(() => (called++, { identity: 'conn-level', session }));
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(called, 1);
    assert.equal(sc.sessionReused, true);
  });

  test('"These functions cannot be used for TLSv1.2 and below PSKs."', (t) => {
    const own = owner(t);
    const session = own(psk());
    let called = 0;
    const cctx = own(
      ossl.createContext({ role: 'client', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskUseSession: () => (called++, { identity: 'x', session }) }),
    );
    const sctx = own(ossl.createContext({ role: 'server', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskServer: () => new Uint8Array(32) }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    const r = tryHandshake(cc, sc);
    assert.ok(r.client instanceof TlsError, 'a TLS 1.2-only client with only a use-session callback has no PSK suite to offer');
    assert.equal(called, 0, 'the use-session callback is never asked for a TLS 1.2 PSK');
  });

  test('"The callback function is given a pointer to the SSL connection in ssl."', (t) => {
    const own = owner(t);
    const session = own(psk());
    let given;
    const cctx = own(ossl.createContext({ role: 'client', pskUseSession: (conn) => ((given = conn), { identity: 'dev-1', session }) }));
    const { ctx: sctx } = pskServer(ossl, new Map([['dev-1', session]]));
    own(sctx);
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.ok(given instanceof TlsConnection);
    assert.equal(given, cc);
  });

  test('"The first time the callback is called for a connection the md parameter is NULL."', (t) => {
    const own = owner(t);
    const p = own(pskPair());
    handshake(p.cc, p.sc);
    assert.deepEqual(p.c.calls, [null]);
  });

  test('"In some circumstances the callback will be called a second time. In that case the server will have specified a ciphersuite to use already ... The digest will be given in md."', () => {
    // A HelloRetryRequest: the client's first key share is X25519, the server only takes P-256.
    for (const [cipher, digest] of [
      [AES128, { name: 'SHA256', size: 32 }],
      [AES256, { name: 'SHA384', size: 48 }],
    ]) {
      const p = pskPair({
        session: psk(cipher),
        client: { groups: ['X25519', 'P-256'], ciphersuites: cipher },
        server: { groups: ['P-256'], ciphersuites: cipher },
      });
      handshake(p.cc, p.sc);
      assert.equal(p.c.calls.length, 2, 'called again after the HelloRetryRequest');
      assert.equal(p.c.calls[0], null);
      assert.deepEqual({ ...p.c.calls[1] }, digest);
      assert.equal(p.cc.cipher.name, cipher);
      assert.equal(p.cc.sessionReused, true);
      p.free();
    }
  });

  test('"The PSK returned by the callback is allowed to be different between the first and second time it is called."', (t) => {
    const own = owner(t);
    const first = own(psk());
    const second = own(psk());
    const answers = [
      { identity: 'first', session: first },
      { identity: 'second', session: second },
    ];
    const cctx = own(ossl.createContext({ role: 'client', groups: ['X25519', 'P-256'], pskUseSession: () => answers.shift() }));
    const { ctx: sctx, seen } = pskServer(
      ossl,
      new Map([
        ['first', first],
        ['second', second],
      ]),
      { groups: ['P-256'] },
    );
    own(sctx);
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(answers.length, 0);
    assert.deepEqual(seen, ['first', 'second'], 'each ClientHello carried the PSK of its call');
    assert.equal(sc.sessionReused, true, 'and completed the handshake with it');
    assert.equal(str(transfer(cc, sc, text('with the second PSK'))), 'with the second PSK');
  });

  test('"On successful completion the callback must store a pointer to an identifier for the PSK in *id. The identifier length in bytes should be stored in *idlen."', (t) => {
    const own = owner(t);
    // Binary identities, NUL bytes included, arrive byte for byte; so do long ones.
    for (const identity of [new Uint8Array([0, 1, 2, 0xff, 0]), new Uint8Array(1000).fill(0x41), text('dëv-1')]) {
      const session = own(psk());
      let received;
      const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity, session }) }));
      const sctx = own(ossl.createContext({ role: 'server', pskFindSession: (conn, id) => ((received = id), session) }));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      assert.deepEqual(received, identity);
      freeAll(cc, sc, cctx, sctx, session);
    }
  });

  test('"The memory pointed to by *id remains owned by the application and should be freed by it as required at any point after the handshake is complete."', (t) => {
    const own = owner(t);
    // The application's identity is a view into a larger buffer it keeps using; the library
    // copies exactly the view, never changes or keeps the application's memory, and frees its
    // own copy once the handshake is complete (no growth over many handshakes).
    const backing = new Uint8Array(64).fill(0xee);
    const identity = backing.subarray(8, 16).fill(0x42);
    const session = own(psk());
    let received;
    const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity, session }) }));
    const sctx = own(ossl.createContext({ role: 'server', pskFindSession: (conn, id) => ((received = id), session) }));
    const run = () => {
      const cc = cctx.createConnection();
      const sc = sctx.createConnection();
      handshake(cc, sc);
      freeAll(cc, sc);
    };
    run();
    assert.deepEqual(received, new Uint8Array(8).fill(0x42));
    assert.ok(backing.subarray(0, 8).every((b) => b === 0xee) && backing.subarray(16).every((b) => b === 0xee));
    identity.fill(0x43); // the application may reuse its memory: the next handshake sends the new bytes
    run();
    assert.deepEqual(received, new Uint8Array(8).fill(0x43));
    for (let i = 0; i < 5; i++) run(); // warm up
    const before = ossl.heapStats().inUseBytes;
    for (let i = 0; i < 30; i++) run();
    assert.equal(ossl.heapStats().inUseBytes, before, 'no memory kept per handshake');
  });

  test('"Additionally the callback should store a pointer to an SSL_SESSION object in *sess. This is used as the basis for the PSK, and should, at a minimum, have the following fields set: The master key ... A ciphersuite ... The protocol version"', (t) => {
    const own = owner(t);
    const key = key32();
    const session = ossl.createSession().setMasterKey(key).setCipher(CHACHA).setProtocolVersion('TLSv1.3');
    assert.equal(session.masterKeyLength, 32);
    assert.equal(session.cipher.name, CHACHA);
    assert.equal(session.protocolVersion, 'TLSv1.3');
    const p = own(pskPair({ session }));
    handshake(p.cc, p.sc);
    assert.equal(p.sc.sessionReused, true);
    p.free();

    // A session missing any of the three fails connection setup with an error naming it.
    const missing = [
      [ossl.createSession().setCipher(AES128).setProtocolVersion('TLSv1.3'), /no master key/],
      [ossl.createSession().setMasterKey(key).setProtocolVersion('TLSv1.3'), /no TLS 1.3 cipher suite/],
      [ossl.createSession().setMasterKey(key).setCipher(AES128), /protocol version/],
    ];
    for (const [incomplete, message] of missing) {
      const q = own(pskPair({ session: incomplete }));
      const r = tryHandshake(q.cc, q.sc);
      assert.ok(r.client instanceof TlsError);
      assert.match(r.client.message, message);
      q.free();
    }
  });

  test('"Only the handshake digest associated with the ciphersuite is relevant for the PSK (the server may go on to negotiate any ciphersuite which is compatible with the digest)."', (t) => {
    const own = owner(t);
    // The PSK names AES-128-GCM, the server picks ChaCha20 (also SHA-256): fine.
    const p = own(pskPair({ session: psk(AES128), client: { ciphersuites: [CHACHA, AES128] } }));
    handshake(p.cc, p.sc);
    assert.equal(p.sc.cipher.name, CHACHA);
    assert.equal(p.sc.sessionReused, true);
  });

  test('"The application can use any TLSv1.3 ciphersuite." (SHA-256 and SHA-384 PSKs)', (t) => {
    const own = owner(t);
    for (const cipher of [AES128, CHACHA, AES256, 'TLS_AES_128_CCM_SHA256']) {
      const suites = cipher === AES256 ? [AES256] : [cipher];
      const p = own(pskPair({ session: psk(cipher), client: { ciphersuites: suites }, server: { ciphersuites: suites } }));
      handshake(p.cc, p.sc);
      assert.equal(p.cc.cipher.name, cipher);
      assert.equal(p.cc.sessionReused, true, `${cipher}: PSK used`);
      assert.equal(str(transfer(p.sc, p.cc, text(cipher))), cipher);
      p.free();
    }
  });

  test('"If md is not NULL the handshake digest for the ciphersuite should be the same." (a mismatched digest fails)', (t) => {
    const own = owner(t);
    const sha256 = own(psk(AES128));
    const sha384 = own(psk(AES256));
    const answers = [
      { identity: 'a', session: sha256 },
      { identity: 'b', session: sha384 },
    ];
    const cctx = own(ossl.createContext({ role: 'client', groups: ['X25519', 'P-256'], pskUseSession: () => answers.shift() }));
    const { ctx: sctx } = pskServer(
      ossl,
      new Map([
        ['a', sha256],
        ['b', sha384],
      ]),
      { groups: ['P-256'] },
    );
    own(sctx);
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    const r = tryHandshake(cc, sc);
    assert.equal(r.client?.code, 'ERR_PSK_DIGEST_MISMATCH');
    assert.match(r.client.message, /SHA256 suite.*SHA384/);
    assert.ok(r.server instanceof TlsError, 'the server sees the handshake fail too');
  });

  test('"The handshake digest of an SSL_CIPHER object can be checked using SSL_CIPHER_get_handshake_digest(3)."', () => {
    const expected = {
      TLS_AES_128_GCM_SHA256: 'SHA256',
      TLS_AES_256_GCM_SHA384: 'SHA384',
      TLS_CHACHA20_POLY1305_SHA256: 'SHA256',
      TLS_AES_128_CCM_SHA256: 'SHA256',
      TLS_AES_128_CCM_8_SHA256: 'SHA256',
    };
    for (const [name, digest] of Object.entries(expected)) {
      const cipher = ossl.findCipher(name);
      assert.equal(cipher.handshakeDigest.name, digest, name);
      assert.equal(cipher.handshakeDigest.size, digest === 'SHA384' ? 48 : 32);
      assert.equal(cipher.version, 'TLSv1.3');
    }
    // SSL_CIPHER_find by the two-byte id gives the same object.
    assert.equal(ossl.findCipher(new Uint8Array([0x13, 0x02])), ossl.findCipher(AES256));
    assert.equal(ossl.findCipher(AES256).id, 0x1302);
    assert.throws(() => ossl.findCipher('TLS_NO_SUCH_SUITE'), { code: 'ERR_INVALID_ARGUMENT' });
  });

  test('"Additionally the maximum early data value should be set via a call to SSL_SESSION_set_max_early_data(3) if the PSK will be used for sending early data."', (t) => {
    const own = owner(t);
    // Set: the early data goes out with the ClientHello and the server accepts it.
    const session = own(psk(AES128, { maxEarlyData: 1024 }));
    assert.equal(session.maxEarlyData, 1024);
    const p = own(pskPair({ session, server: { maxEarlyData: 1024 } }));
    p.cc.writeEarlyData(text('0-RTT hello'));
    p.sc.feed(p.cc.drain());
    const first = p.sc.readEarlyData();
    assert.equal(str(first.data), '0-RTT hello');
    p.cc.feed(p.sc.drain());
    assert.equal(p.sc.readEarlyData().finished, false, 'more may come until the client ends its early data');
    handshake(p.cc, p.sc);
    assert.equal(p.cc.earlyDataStatus, 'accepted');
    assert.equal(p.sc.earlyDataStatus, 'accepted');
    p.free();

    // Not set: writing early data fails at once, saying why (OpenSSL itself would fail with
    // "cipher or hash unavailable").
    const q = own(pskPair({ session: psk(AES128), server: { maxEarlyData: 1024 } }));
    assert.throws(
      () => q.cc.writeEarlyData(text('0-RTT hello')),
      (error) => {
        assert.equal(error.code, 'ERR_EARLY_DATA');
        assert.match(error.message, /maxEarlyData/);
        return true;
      },
    );
  });

  test('"Alternatively an SSL_SESSION created from a previous non-PSK handshake may also be used as the basis for a PSK."', (t) => {
    const own = owner(t);
    const pki = testPki();
    // 1. A certificate-authenticated handshake, no PSK; one ticket so both sides end with the same session.
    const cctx = own(full.createContext({ role: 'client', ca: pki.ca }));
    const sctx = own(full.createContext({ role: 'server', certificate: pki.certificate, privateKey: pki.privateKey, numTickets: 1 }));
    const cc = own(cctx.createConnection({ serverName: 'localhost' }));
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(cc.sessionReused, false);
    const clientSession = cc.getSession();
    const serverSession = sc.getSession();
    assert.equal(clientSession.protocolVersion, 'TLSv1.3');
    assert.equal(clientSession.resumable, true);
    freeAll(cc, sc, cctx, sctx);

    // 2. Those sessions as the basis of an external PSK, on contexts without certificates.
    const p = pskClient(full, 'from-earlier-handshake', clientSession);
    const s = pskServer(full, new Map([['from-earlier-handshake', serverSession]]));
    const cc2 = own(p.ctx.createConnection());
    const sc2 = own(s.ctx.createConnection());
    handshake(cc2, sc2);
    assert.equal(cc2.sessionReused, true);
    assert.equal(str(transfer(cc2, sc2, text('resumed as a PSK'))), 'resumed as a PSK');
    freeAll(cc2, sc2, p.ctx, s.ctx, clientSession, serverSession);
  });

  test('"Ownership of the SSL_SESSION object is passed to the OpenSSL library and so it should not be freed by the application."', (t) => {
    const own = owner(t);
    // OpenSSL gets a reference of its own: once the callback has handed the session over, the
    // application's free() cannot pull it from under the handshake, and one SslSession may
    // serve many connections.
    const key = key32();
    const clientSession = own(ossl.createPskSession({ masterKey: key, cipher: AES128 }));
    const serverSession = own(ossl.createPskSession({ masterKey: key, cipher: AES128 }));
    const { ctx: cctx, calls } = pskClient(ossl, 'dev-1', clientSession);
    own(cctx);
    const { ctx: sctx } = pskServer(ossl, new Map([['dev-1', serverSession]]));
    own(sctx);
    const pairs = [0, 1, 2].map(() => [cctx.createConnection(), sctx.createConnection()]);
    for (const [cc] of pairs) assert.equal(cc.handshake(), 'want-read'); // ClientHello built: OpenSSL holds the session
    assert.equal(calls.length, 3);
    clientSession.free();
    for (const [cc, sc] of pairs) {
      handshake(cc, sc);
      assert.equal(cc.sessionReused, true);
      assert.equal(str(transfer(cc, sc, text('after free'))), 'after free');
    }
    // Handing over a session the application has already freed is a clear error.
    const late = own(cctx.createConnection());
    const r = tryHandshake(late, sctx.createConnection());
    assert.equal(r.client?.code, 'ERR_USE_AFTER_FREE');
    freeAll(...pairs.flat(), late, cctx, sctx, serverSession);
  });
  test('"Ownership ... is passed to the OpenSSL library": a new session per call, never freed by the application, is freed with its connection', (t) => {
    const own = owner(t);
    // The man page's own pattern, on both sides: each callback returns a session it has just
    // made and forgets it. The connection owns it from the return on, so nothing outlives it.
    const key = key32();
    const made = [];
    const make = () => {
      const session = ossl.createPskSession({ masterKey: key, cipher: AES128 });
      made.push(session);
      return session;
    };
    const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session: make() }) }));
    const sctx = own(ossl.createContext({ role: 'server', pskFindSession: () => make() }));
    const round = () => {
      const cc = cctx.createConnection();
      const sc = sctx.createConnection();
      handshake(cc, sc);
      assert.equal(cc.sessionReused, true);
      assert.equal(made.at(-1).freed, false, 'alive as long as its connection');
      freeAll(cc, sc);
    };
    for (let i = 0; i < 20; i++) round();
    const baseline = ossl.heapStats().inUseBytes;
    for (let i = 0; i < 300; i++) round();
    assert.equal(ossl.heapStats().inUseBytes, baseline, 'no session left behind');
    assert.ok(
      made.every((session) => session.freed),
      'each went with its connection',
    );
    assert.throws(
      () => made[0].cipher,
      (e) => e.code === 'ERR_USE_AFTER_FREE' && /created inside a PSK callback/.test(e.message),
    );
  });

  test("a session made outside the callbacks stays the application's; one made inside and kept with keep() does too", (t) => {
    const own = owner(t);
    const key = key32();
    const outside = own(ossl.createPskSession({ masterKey: key, cipher: AES128 }));
    let cached = null; // made lazily, inside the first call, and kept for the others
    const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session: outside }) }));
    const sctx = own(
      ossl.createContext({ role: 'server', pskFindSession: () => (cached ??= ossl.createPskSession({ masterKey: key, cipher: AES128 }).keep()) }),
    );
    for (let i = 0; i < 3; i++) {
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      freeAll(cc, sc);
    }
    assert.equal(outside.freed, false);
    assert.equal(cached.freed, false);
    freeAll(cctx, sctx, outside, cached);
  });

  test('"It is also possible for the callback to succeed but not supply a PSK. In this case no PSK will be sent to the server but the handshake will continue."', (t) => {
    const own = owner(t);
    const pki = testPki();
    let called = 0;
    let pskOffered = false;
    const cctx = own(full.createContext({ role: 'client', ca: pki.ca, pskUseSession: () => (called++, null) }));
    const sctx = own(
      full.createContext({
        role: 'server',
        certificate: pki.certificate,
        privateKey: pki.privateKey,
        pskFindSession: () => ((pskOffered = true), null),
      }),
    );
    const cc = own(cctx.createConnection({ serverName: 'localhost' }));
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(called, 1);
    assert.equal(pskOffered, false, 'no PSK reached the server');
    assert.equal(cc.protocol, 'TLSv1.3');
    assert.equal(cc.sessionReused, false, 'a full, certificate-authenticated handshake');
    assert.equal(str(transfer(cc, sc, text('no PSK'))), 'no PSK');
    freeAll(cc, sc);

    // The handshake goes on to the certificate: a client that does not trust it stops there.
    const strict = own(full.createContext({ role: 'client', ca: pki.otherCa, pskUseSession: () => null }));
    const cc2 = own(strict.createConnection({ serverName: 'localhost' }));
    const sc2 = own(sctx.createConnection());
    const r = tryHandshake(cc2, sc2);
    assert.equal(r.client?.code, 'ERR_CERT_VERIFY');
  });
});
