// SSL_CTX_set_psk_client_callback(3): the TLS 1.2-style client callback, how it behaves under
// TLS 1.3, and the NOTES, RETURN VALUES and HISTORY sections of the page. Each test is named
// after the sentence it checks; a wasm client and a wasm server in memory.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadOpenSSL, TlsError } from '../lib/index.js';
import { handshake, str, text, transfer, tryHandshake, owner } from './helpers/pair.js';
import { freeAll, key32 } from './helpers/psk.js';

const ossl = await loadOpenSSL();

/** A TLS 1.2 PSK server that knows `keys` (identity -> key) and records what it was asked. */
function tls12Server(keys, options = {}) {
  const asked = [];
  const ctx = ossl.createContext({
    role: 'server',
    maxVersion: 'TLSv1.2',
    cipherList: 'PSK',
    pskServer: (conn, identity) => (asked.push(identity), keys.get(identity) ?? null),
    ...options,
  });
  return { ctx, asked };
}

function tls12Client(cb, options = {}) {
  return ossl.createContext({ role: 'client', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskClient: cb, ...options });
}

describe('DESCRIPTION: the TLS 1.2 client callback', () => {
  test('"A client application wishing to use PSK ciphersuites for TLSv1.2 and below must provide a different callback function. This function will be called when the client is sending the ClientKeyExchange message to the server."', (t) => {
    const own = owner(t);
    const key = key32();
    const { ctx: sctx } = tls12Server(new Map([['dev-1', key]]));
    own(sctx);
    const flights = [];
    let flight = 0;
    const cctx = own(tls12Client(() => (flights.push(flight), { identity: 'dev-1', psk: key })));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    // Flight 0 is the ClientHello; the callback must wait for the server's flight (flight 1),
    // after which the client sends ClientKeyExchange.
    for (; flight < 5 && !(cc.handshakeDone && sc.handshakeDone); flight++) {
      cc.handshake();
      sc.feed(cc.drain());
      sc.handshake();
      cc.feed(sc.drain());
    }
    assert.deepEqual(flights, [1]);
    assert.equal(cc.protocol, 'TLSv1.2');
    assert.match(cc.cipher.name, /PSK/);
  });

  test('"The purpose of the callback function is to select the PSK identity and the pre-shared key to use during the connection setup phase."', (t) => {
    const own = owner(t);
    const keys = new Map([
      ['dev-1', key32()],
      ['dev-2', key32()],
    ]);
    const { ctx: sctx, asked } = tls12Server(keys);
    own(sctx);
    for (const identity of ['dev-1', 'dev-2']) {
      const cctx = own(tls12Client(() => ({ identity, psk: keys.get(identity) })));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      assert.equal(sc.pskIdentity, identity);
      assert.equal(str(transfer(cc, sc, text(identity))), identity);
      freeAll(cc, sc, cctx);
    }
    assert.deepEqual(asked, ['dev-1', 'dev-2']);
  });

  test('"The callback function is given the connection in parameter ssl, a NULL-terminated PSK identity hint sent by the server in parameter hint, a buffer identity of length max_identity_len bytes ..., and a buffer psk of length max_psk_len bytes"', (t) => {
    const own = owner(t);
    const key = key32();
    const { ctx: sctx } = tls12Server(new Map([['dev-1', key]]), { pskIdentityHint: 'hint from the server' });
    own(sctx);
    let given;
    const cctx = own(tls12Client((conn, hint) => ((given = { conn, hint }), { identity: 'dev-1', psk: key })));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(given.conn, cc);
    assert.equal(given.hint, 'hint from the server');
    assert.equal(cc.pskIdentityHint, 'hint from the server');
  });

  test('max_identity_len and max_psk_len bound what the callback may return: longer is a clear error, never truncated', (t) => {
    const own = owner(t);
    const fits = { identity: 'i'.repeat(127), psk: new Uint8Array(256).fill(1) }; // 127 + NUL = 128 = max_identity_len
    const cases = [
      [fits, null],
      [{ identity: 'i'.repeat(128), psk: new Uint8Array(32) }, 'ERR_PSK_IDENTITY_TOO_LONG'],
      [{ identity: 'dev', psk: new Uint8Array(257) }, 'ERR_PSK_KEY_TOO_LONG'],
      [{ identity: 'd\0v', psk: new Uint8Array(32) }, 'ERR_INVALID_ARGUMENT'],
      [{ identity: 'dev', psk: new Uint8Array(0) }, 'ERR_INVALID_ARGUMENT'],
      [{ identity: 'dev', psk: 'not bytes' }, 'ERR_INVALID_ARGUMENT'],
    ];
    for (const [answer, code] of cases) {
      const { ctx: sctx } = tls12Server(new Map([[answer.identity, answer.psk]]));
      own(sctx);
      const cctx = own(tls12Client(() => answer));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      const r = tryHandshake(cc, sc);
      if (code === null) {
        assert.equal(r.client, null);
        assert.equal(sc.pskIdentity, answer.identity, 'the 127-byte identity arrived whole');
      } else {
        assert.equal(r.client?.code, code, JSON.stringify(answer).slice(0, 60));
        assert.ok(r.server instanceof TlsError, 'the server sees the failure too');
      }
      freeAll(cc, sc, cctx, sctx);
    }
  });

  test('"The callback for use in TLSv1.2 will also work in TLSv1.3"', (t) => {
    const own = owner(t);
    const key = key32();
    const cctx = own(ossl.createContext({ role: 'client', pskClient: () => ({ identity: 'dev-1', psk: key }) }));
    const sctx = own(ossl.createContext({ role: 'server', pskServer: (conn, id) => (id === 'dev-1' ? key : null) }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(cc.protocol, 'TLSv1.3');
    assert.equal(cc.sessionReused, true, 'the PSK was used');
  });

  test('"If TLSv1.3 has been negotiated then OpenSSL will first check to see if a callback has been set via SSL_CTX_set_psk_use_session_callback() ... and it will use that in preference."', (t) => {
    const own = owner(t);
    const key = key32();
    const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }));
    const used = [];
    const cctx = own(
      ossl.createContext({
        role: 'client',
        pskUseSession: () => (used.push('use-session'), { identity: 'from-use-session', session }),
        pskClient: () => (used.push('client'), { identity: 'from-client', psk: key }),
      }),
    );
    const seen = [];
    const sctx = own(ossl.createContext({ role: 'server', pskFindSession: (conn, id) => (seen.push(str(id)), session) }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.deepEqual(used, ['use-session']);
    assert.deepEqual(seen, ['from-use-session']);
  });

  test('"If no such callback is present then it will check to see if a callback has been set via SSL_CTX_set_psk_client_callback() ... In this case the hint value will always be NULL and the handshake digest will default to SHA-256 for any returned PSK."', (t) => {
    const own = owner(t);
    const key = key32();
    const hints = [];
    const cctx = own(ossl.createContext({ role: 'client', pskClient: (conn, hint) => (hints.push(hint), { identity: 'dev-1', psk: key }) }));
    // The server has a hint, and the key as a SHA-256 session: they match.
    const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }));
    const sctx = own(ossl.createContext({ role: 'server', pskIdentityHint: 'a hint', pskFindSession: () => session }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.deepEqual(hints, [null]);
    assert.equal(cc.sessionReused, true);
    assert.equal(cc.cipher.handshakeDigest.name, 'SHA256');
    freeAll(cc, sc);

    // A client that lists a SHA-384 suite first: OpenSSL's own behaviour (pskDigestFirst
    // false) is that the server takes that suite and drops the SHA-256 PSK; the errors say so.
    const aes256First = (pskDigestFirst) =>
      ossl.createContext({
        role: 'client',
        ciphersuites: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256',
        pskDigestFirst,
        pskClient: () => ({ identity: 'dev-1', psk: key }),
      });
    const plainServer = own(ossl.createContext({ role: 'server', pskDigestFirst: false, pskFindSession: () => session }));
    const strictClient = aes256First(false);
    const cc2 = own(strictClient.createConnection());
    const sc2 = own(plainServer.createConnection());
    const r = tryHandshake(cc2, sc2);
    // The client never sees the suite (the server fails before its ServerHello), so it can only say what is likely.
    assert.equal(r.client?.code, 'ERR_PSK_DIGEST_MISMATCH');
    assert.match(r.client.message, /probably because the client offered a SHA256 PSK but lists TLS_AES_256_GCM_SHA384 \(SHA384\) first/);
    assert.equal(r.server?.code, 'ERR_PSK_DIGEST_MISMATCH');
    assert.match(r.server.message, /uses SHA256, but the suite already chosen, TLS_AES_256_GCM_SHA384/);

    // With pskDigestFirst on either side (the default), the SHA-256 suite is used instead.
    const lenientClient = aes256First(true);
    for (const [client, server] of [
      [lenientClient, plainServer],
      [strictClient, sctx],
    ]) {
      const cc3 = own(client.createConnection());
      const sc3 = own(server.createConnection());
      handshake(cc3, sc3);
      assert.equal(cc3.cipher.name, 'TLS_AES_128_GCM_SHA256');
      assert.equal(cc3.sessionReused, true);
      freeAll(cc3, sc3);
    }
    freeAll(cc2, sc2, strictClient, lenientClient, plainServer, cctx, sctx, session);
  });

  test('"TLSv1.3 early data exchanges are possible in PSK connections only with the SSL_psk_use_session_cb_func callback, and are not possible with the SSL_psk_client_cb_func callback."', (t) => {
    const own = owner(t);
    const key = key32();
    const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256', maxEarlyData: 4096 }));
    const sctx = own(ossl.createContext({ role: 'server', maxEarlyData: 4096, pskFindSession: () => session }));

    const withClientCallback = own(ossl.createContext({ role: 'client', pskClient: () => ({ identity: 'dev-1', psk: key }) }));
    const cc = own(withClientCallback.createConnection());
    assert.throws(
      () => cc.writeEarlyData(text('early')),
      (error) => {
        assert.equal(error.code, 'ERR_EARLY_DATA');
        assert.match(error.message, /use-session callback/);
        return true;
      },
    );
    // The connection itself is still usable for a normal handshake.
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(cc.earlyDataStatus, 'not-sent');

    const withUseSession = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session }) }));
    const cc2 = own(withUseSession.createConnection());
    const sc2 = own(sctx.createConnection());
    cc2.writeEarlyData(text('early'));
    sc2.feed(cc2.drain());
    assert.equal(str(sc2.readEarlyData().data), 'early');
    handshake(cc2, sc2);
    assert.equal(cc2.earlyDataStatus, 'accepted');
  });
});

describe('NOTES', () => {
  test('"Note that parameter hint given to the callback may be NULL."', (t) => {
    const own = owner(t);
    const key = key32();
    const { ctx: sctx } = tls12Server(new Map([['dev-1', key]])); // no hint
    const hints = [];
    const cctx = own(tls12Client((conn, hint) => (hints.push(hint), { identity: 'dev-1', psk: key })));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.deepEqual(hints, [null]);
    freeAll(cc, sc, cctx, sctx);
  });

  test('"A connection established via a TLSv1.3 PSK will appear as if session resumption has occurred so that SSL_session_reused(3) will return true."', (t) => {
    const own = owner(t);
    const session = own(ossl.createPskSession({ masterKey: key32(), cipher: 'TLS_AES_128_GCM_SHA256' }));
    const cctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-1', session }) }));
    const sctx = own(ossl.createContext({ role: 'server', pskFindSession: () => session }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    assert.equal(cc.sessionReused, false);
    handshake(cc, sc);
    assert.equal(cc.sessionReused, true);
    assert.equal(sc.sessionReused, true);
    // A TLS 1.2 PSK handshake is a full handshake: not reused.
    const key = key32();
    const c12ctx = tls12Client(() => ({ identity: 'dev-1', psk: key }));
    const s12ctx = tls12Server(new Map([['dev-1', key]])).ctx;
    const c12 = c12ctx.createConnection();
    const s12 = s12ctx.createConnection();
    handshake(c12, s12);
    assert.equal(c12.sessionReused, false);
    freeAll(cc, sc, c12, s12, c12ctx, s12ctx, cctx, sctx, session);
  });

  test('"There are no known security issues with sharing the same PSK between TLSv1.2 (or below) and TLSv1.3." (the same key works in both)', (t) => {
    const own = owner(t);
    const key = key32();
    const sctx = own(ossl.createContext({ role: 'server', cipherList: 'PSK', pskServer: () => key }));
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3']) {
      const cctx = own(ossl.createContext({ role: 'client', maxVersion, cipherList: 'PSK', pskClient: () => ({ identity: 'dev-1', psk: key }) }));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      assert.equal(cc.protocol, maxVersion);
      freeAll(cc, sc, cctx);
    }
  });
});

describe('RETURN VALUES', () => {
  test('"On success (callback found a PSK identity and a pre-shared key to use) the length (> 0) of psk in bytes is returned."', (t) => {
    const own = owner(t);
    for (const length of [1, 16, 32, 64, 256]) {
      const key = new Uint8Array(length).map((_, i) => (i * 7 + length) & 0xff);
      const { ctx: sctx } = tls12Server(new Map([['dev-1', key]]));
      own(sctx);
      const cctx = own(tls12Client(() => ({ identity: 'dev-1', psk: key })));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      assert.equal(str(transfer(cc, sc, text(`${length}-byte PSK`))), `${length}-byte PSK`);
      freeAll(cc, sc, cctx, sctx);
    }
  });

  test('"Otherwise or on errors the callback should return 0. In this case the connection setup fails."', (t) => {
    const own = owner(t);
    const { ctx: sctx } = tls12Server(new Map());
    own(sctx);
    const thrown = new Error('no key for this server');
    for (const [cb, check] of [
      [() => null, (e) => (assert.equal(e.code, 'ERR_PSK_CALLBACK'), assert.match(e.message, /returned null/))],
      [
        () => {
          throw thrown;
        },
        (e) => (assert.equal(e.code, 'ERR_PSK_CALLBACK'), assert.equal(e.cause, thrown)),
      ],
    ]) {
      const cctx = own(tls12Client(cb));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      const r = tryHandshake(cc, sc);
      assert.ok(r.client instanceof TlsError);
      check(r.client);
      assert.ok(r.server instanceof TlsError, 'the server sees the failure');
      freeAll(cc, sc, cctx);
    }
  });

  test('"The SSL_psk_use_session_cb_func callback should return 1 on success or 0 on failure. In the event of failure the connection setup fails."', (t) => {
    const own = owner(t);
    const session = own(ossl.createPskSession({ masterKey: key32(), cipher: 'TLS_AES_128_GCM_SHA256' }));
    const sctx = own(ossl.createContext({ role: 'server', pskFindSession: () => session }));
    const thrown = new RangeError('key store locked');
    for (const [cb, check] of [
      [() => ({ identity: 'dev-1', session }), (r) => assert.equal(r.client, null)],
      [() => false, (r) => (assert.equal(r.client.code, 'ERR_PSK_CALLBACK'), assert.match(r.client.message, /returned false/))],
      [
        () => {
          throw thrown;
        },
        (r) => (assert.equal(r.client.code, 'ERR_PSK_CALLBACK'), assert.equal(r.client.cause, thrown)),
      ],
      [() => 'nonsense', (r) => assert.equal(r.client.code, 'ERR_INVALID_ARGUMENT')],
    ]) {
      const cctx = own(ossl.createContext({ role: 'client', pskUseSession: cb }));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      check(tryHandshake(cc, sc));
      freeAll(cc, sc, cctx);
    }
  });
});

describe('HISTORY', () => {
  test('"SSL_CTX_set_psk_use_session_callback() and SSL_set_psk_use_session_callback() were added in OpenSSL 1.1.1."', () => {
    assert.match(ossl.version, /^OpenSSL 1\.1\.1w /);
  });
});
