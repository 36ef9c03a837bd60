// Each way a PSK connection commonly fails has its own error code, on both sides of a
// connection between two instances of this library (in memory here), and through real
// sockets for resets. What other implementations' alerts map to is checked in the interop tests.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { acceptTls, connectTls, loadOpenSSL } from '../lib/index.js';
import { handshake, owner, text, tryHandshake } from './helpers/pair.js';
import { loadOpenSSL as loadFullOpenSSL } from '../lib/full.js';
import { testPki } from './helpers/pki.js';
import { freeAll } from './helpers/psk.js';

const ossl = await loadOpenSSL();
/** The full build, for the test with a certificate. */
const full = await loadFullOpenSSL();
const key = (byte) => new Uint8Array(32).fill(byte);
const session = (k) => ossl.createPskSession({ masterKey: k, cipher: 'TLS_AES_128_GCM_SHA256' });

/** Handshakes a client and a server built from these options; returns both errors. */
function outcome(client, server, openssl = ossl) {
  const cctx = openssl.createContext({ role: 'client', ...client });
  const sctx = openssl.createContext({ role: 'server', ...server });
  const cc = cctx.createConnection();
  const sc = sctx.createConnection();
  try {
    const r = tryHandshake(cc, sc);
    return { client: r.client?.code ?? null, server: r.server?.code ?? null, messages: [r.client?.message, r.server?.message] };
  } finally {
    freeAll(cc, sc, cctx, sctx);
  }
}

const tls13Client = (k, extra = {}) => ({ pskUseSession: () => ({ identity: 'dev', session: session(k) }), ...extra });
const tls12Client = (k, extra = {}) => ({ maxVersion: 'TLSv1.2', cipherList: 'PSK', pskClient: () => ({ identity: 'dev', psk: k }), ...extra });

describe('distinct codes, both sides', () => {
  const cases = [
    ['wrong PSK, TLS 1.3', tls13Client(key(1)), { pskFindSession: () => session(key(2)) }, 'ERR_PSK_WRONG_KEY'],
    ['wrong PSK, TLS 1.2', tls12Client(key(1)), { pskServer: () => key(2) }, 'ERR_PSK_WRONG_KEY'],
    ['unknown identity, TLS 1.3 (find-session callback)', tls13Client(key(1)), { pskFindSession: () => null }, 'ERR_PSK_UNKNOWN_IDENTITY'],
    ['unknown identity, TLS 1.3 (old-style server callback)', tls13Client(key(1)), { pskServer: () => null }, 'ERR_PSK_UNKNOWN_IDENTITY'],
    ['unknown identity, TLS 1.2', tls12Client(key(1)), { pskServer: () => null }, 'ERR_PSK_UNKNOWN_IDENTITY'],
    [
      'no shared cipher, TLS 1.3',
      tls13Client(key(1), { ciphersuites: 'TLS_AES_128_GCM_SHA256' }),
      { ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256', pskFindSession: () => session(key(1)) },
      'ERR_NO_SHARED_CIPHER',
    ],
    [
      'no shared cipher, TLS 1.2',
      tls12Client(key(1), { cipherList: 'PSK-AES128-GCM-SHA256' }),
      { cipherList: 'PSK-CHACHA20-POLY1305', pskServer: () => key(1) },
      'ERR_NO_SHARED_CIPHER',
    ],
    [
      'protocol version mismatch (1.3 only vs 1.2 only)',
      tls13Client(key(1), { minVersion: 'TLSv1.3' }),
      { maxVersion: 'TLSv1.2', pskServer: () => key(1) },
      'ERR_PROTOCOL_VERSION',
    ],
    [
      'protocol version mismatch (1.2 only vs 1.3 only)',
      tls12Client(key(1)),
      { minVersion: 'TLSv1.3', pskFindSession: () => session(key(1)) },
      'ERR_PROTOCOL_VERSION',
    ],
  ];
  for (const [name, client, server, code] of cases) {
    test(`${name}: ${code} on both sides`, () => {
      const r = outcome(client, server);
      assert.deepEqual([r.client, r.server], [code, code], r.messages.join(' | '));
    });
  }

  test("an unknown identity with a certificate to fall back on goes on to the certificate (the man page's fallback)", () => {
    const pki = testPki();
    const r = outcome(
      { pskUseSession: () => ({ identity: 'dev', session: full.createPskSession({ masterKey: key(1), cipher: 'TLS_AES_128_GCM_SHA256' }) }), ca: pki.otherCa },
      { certificate: pki.certificate, privateKey: pki.privateKey, pskFindSession: () => null },
      full,
    );
    assert.deepEqual([r.client, r.server], ['ERR_CERT_VERIFY', 'ERR_HANDSHAKE']);
  });
});

describe('the stream ending early', () => {
  /** A completed pair with `bytes` of application data from the server sitting in `wire`. */
  function established() {
    const cctx = ossl.createContext({ role: 'client', ...tls13Client(key(3)) });
    const sctx = ossl.createContext({ role: 'server', pskFindSession: () => session(key(3)) });
    const cc = cctx.createConnection();
    const sc = sctx.createConnection();
    const free = () => freeAll(cc, sc, cctx, sctx);
    try {
      handshake(cc, sc);
    } catch (error) {
      free();
      throw error;
    }
    return { cc, sc, free };
  }

  test('mid-handshake: ERR_RESET_IN_HANDSHAKE, for the side still waiting (client or server)', (t) => {
    const own = owner(t);
    for (const side of ['client', 'server']) {
      const cctx = own(ossl.createContext({ role: 'client', ...tls13Client(key(4)) }));
      const sctx = own(ossl.createContext({ role: 'server', pskFindSession: () => session(key(4)) }));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      cc.handshake();
      const hello = cc.drain();
      if (side === 'server') {
        sc.feed(hello.subarray(0, 20)); // part of the ClientHello, then the end
        sc.feedEnd();
        assert.throws(() => sc.handshake(), { code: 'ERR_RESET_IN_HANDSHAKE' });
      } else {
        sc.feed(hello);
        sc.handshake();
        cc.feedEnd(); // the server vanished before answering
        assert.throws(() => cc.handshake(), { code: 'ERR_RESET_IN_HANDSHAKE' });
      }
    }
  });

  test('mid-record: ERR_RESET_IN_RECORD on whichever side receives the cut record', (t) => {
    const own = owner(t);
    for (const [from, to] of [
      ['cc', 'sc'],
      ['sc', 'cc'],
    ]) {
      const p = own(established());
      p[from].write(text('a record that will be cut short'));
      const record = p[from].drain();
      p[to].feed(record.subarray(0, record.length - 7));
      p[to].feedEnd();
      assert.throws(() => p[to].read(), { code: 'ERR_RESET_IN_RECORD' });
    }
  });

  test('between records without close_notify: ERR_TRUNCATED on either side, after the data that did arrive', (t) => {
    const own = owner(t);
    for (const [from, to] of [
      ['cc', 'sc'],
      ['sc', 'cc'],
    ]) {
      const p = own(established());
      p[from].write(text('whole'));
      p[to].feed(p[from].drain());
      assert.equal(new TextDecoder().decode(p[to].read()), 'whole');
      p[to].feedEnd();
      assert.throws(() => p[to].read(), { code: 'ERR_TRUNCATED' });
    }
  });

  test('over TCP, a reset in the handshake and in a record are reported as such', async () => {
    const psk = { identity: 'tcp', key: key(5) };
    // A server that resets the connection as soon as the ClientHello arrives.
    const rude = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    rude.listen(0, '127.0.0.1');
    await once(rude, 'listening');
    const early = connectTls(Duplex.toWeb(connect(rude.address().port, '127.0.0.1')), { psk });
    await assert.rejects(early.opened, { code: 'ERR_RESET_IN_HANDSHAKE' });
    rude.close();

    // A relay that passes the handshake, then forwards half of the next record and resets.
    let server;
    const upstream = createServer((socket) => {
      server = acceptTls(Duplex.toWeb(socket), { psk });
      server.opened.catch(() => {});
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    let cutNext = false;
    const relay = createServer((client) => {
      const up = connect(upstream.address().port, '127.0.0.1');
      client.on('error', () => {});
      up.on('error', () => {});
      client.pipe(up);
      up.on('data', (bytes) => {
        if (!cutNext) return client.write(bytes);
        client.write(bytes.subarray(0, 9), () => client.resetAndDestroy());
      });
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const tls = connectTls(Duplex.toWeb(connect(relay.address().port, '127.0.0.1')), { psk });
    await tls.opened;
    await server.opened;
    await new Promise((r) => setTimeout(r, 50)); // let the tickets pass
    cutNext = true;
    const writer = server.writable.getWriter();
    await writer.write(new Uint8Array(1000));
    await assert.rejects(tls.readable.getReader().read(), (e) => ['ERR_RESET_IN_RECORD'].includes(e.code) || assert.fail(`${e.code}: ${e.message}`));
    writer.releaseLock();
    await server.close();
    relay.close();
    upstream.close();
  });
});
