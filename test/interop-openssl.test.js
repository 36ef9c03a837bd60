// Interop with the native OpenSSL 3.0 CLI over loopback TCP, both directions: the wasm client
// against `openssl s_server`, and `openssl s_client` against the wasm server. TLS 1.2 PSK
// suites, TLS 1.3 psk_dhe_ke and psk_ke, SHA-256 and SHA-384 PSKs, early data, and wrong keys.
// Application data is echoed and compared byte for byte.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectTcp, listenTcpEcho } from '../examples/tcp-driver.mjs';
import { loadOpenSSL as loadFull } from '../lib/full.js';
import { loadOpenSSL, TlsError } from '../lib/index.js';
import { str, text, owner } from './helpers/pair.js';
import { opensslClient, opensslServer, pskArgs, stopPeers, withTimeout } from './helpers/peers.js';
import { key32, key48 } from './helpers/psk.js';
import { pskSessionFile } from './helpers/session-pem.js';

/** The build under test: each suite below runs on both (the package's default, then the full one). */
let ossl;
after(stopPeers);

const reversed = (s) => [...s].reverse().join('');

/** A wasm client that offers `key` as a TLS 1.3 PSK of `cipher`'s digest under `identity`. */
function tls13Client(identity, key, { cipher = 'TLS_AES_128_GCM_SHA256', ...options } = {}) {
  const session = ossl.createPskSession({ masterKey: key, cipher });
  const ctx = ossl.createContext({ role: 'client', minVersion: 'TLSv1.3', pskUseSession: () => ({ identity, session }), ...options });
  return { ctx, session, free: () => (ctx.free(), session.free()) };
}

/** Connects `conn` to the s_server on `port`, sends a line, checks the reversed echo. */
async function reverseEcho(conn, port, line = 'hello from wasm') {
  const tls = connectTcp(conn, port);
  try {
    await tls.handshake();
    tls.send(text(`${line}\n`));
    assert.equal(str(await tls.receive(line.length + 1)), `${reversed(line)}\n`);
  } finally {
    await tls.close();
  }
}

for (const [build, load] of [
  ['the PSK build', loadOpenSSL],
  ['the full build', loadFull],
]) {
  describe(build, () => {
    before(async () => {
      ossl = await load();
    });

    describe('wasm client -> openssl s_server', () => {
      test('TLS 1.3 PSK, psk_dhe_ke (X25519), SHA-256', async (t) => {
        const own = owner(t);
        const key = key32();
        const server = await opensslServer(['-nocert', '-tls1_3', ...pskArgs('dev-1', key), '-rev']);
        const client = own(tls13Client('dev-1', key));
        const conn = own(client.ctx.createConnection());
        await reverseEcho(conn, server.port, 'x'.repeat(4000));
        assert.equal(conn.protocol, 'TLSv1.3');
        assert.equal(conn.sessionReused, true);
        assert.equal(conn.keyExchangeGroup, 'X25519');
        conn.free();
        client.free();
        await server.stop();
      });

      test('TLS 1.3 PSK, psk_ke (no key exchange): the server shares no group with the client', async (t) => {
        const own = owner(t);
        const key = key32();
        const server = await opensslServer(['-nocert', '-tls1_3', ...pskArgs('dev-1', key), '-allow_no_dhe_kex', '-groups', 'P-256', '-rev']);
        const client = own(tls13Client('dev-1', key, { allowNoDheKex: true, groups: 'X25519' }));
        const conn = own(client.ctx.createConnection());
        await reverseEcho(conn, server.port);
        assert.equal(conn.sessionReused, true);
        assert.equal(conn.keyExchangeGroup, null, 'psk_ke: no ephemeral key');
        conn.free();
        client.free();
        await server.stop();
      });

      test('TLS 1.3 PSK, SHA-384 (TLS_AES_256_GCM_SHA384, s_server -psk_session)', async (t) => {
        const own = owner(t);
        const key = key48();
        const file = pskSessionFile({ key, cipherId: 0x1302 });
        const server = await opensslServer(['-nocert', '-tls1_3', '-psk_session', file.path, '-psk_identity', 'dev-384', '-rev']);
        // Default suites (ChaCha20 first): the client puts the PSK's SHA-384 suite first itself.
        const client = own(tls13Client('dev-384', key, { cipher: 'TLS_AES_256_GCM_SHA384' }));
        const conn = own(client.ctx.createConnection());
        await reverseEcho(conn, server.port);
        assert.equal(conn.cipher.name, 'TLS_AES_256_GCM_SHA384');
        assert.equal(conn.sessionReused, true);
        conn.free();
        client.free();
        await server.stop();
        file.cleanup();
      });

      test('TLS 1.3 early data accepted by s_server -early_data', async (t) => {
        const own = owner(t);
        const key = key48();
        const file = pskSessionFile({ key, cipherId: 0x1302, maxEarlyData: 16384 });
        const server = await opensslServer(['-nocert', '-tls1_3', '-psk_session', file.path, '-psk_identity', 'dev-ed', '-early_data']);
        const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_256_GCM_SHA384', maxEarlyData: 16384 }));
        const ctx = own(ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev-ed', session }) }));
        const conn = own(ctx.createConnection());
        conn.writeEarlyData(text('EARLY-0RTT-PAYLOAD'));
        const tls = connectTcp(conn, server.port);
        await tls.handshake();
        tls.send(text('after the handshake\n'));
        await server.waitFor('after the handshake');
        assert.equal(conn.earlyDataStatus, 'accepted');
        assert.match(server.output, /EARLY-0RTT-PAYLOAD/);
        assert.match(server.output, /Early data received/);
        await tls.close();
        conn.free();
        ctx.free();
        session.free();
        await server.stop();
        file.cleanup();
      });

      for (const cipher of [
        'PSK-AES128-GCM-SHA256',
        'PSK-AES256-CBC-SHA384',
        'PSK-CHACHA20-POLY1305',
        'ECDHE-PSK-CHACHA20-POLY1305',
        'ECDHE-PSK-AES128-CBC-SHA256',
        'DHE-PSK-AES256-GCM-SHA384',
        'DHE-PSK-AES128-CBC-SHA256',
        'DHE-PSK-CHACHA20-POLY1305',
      ]) {
        test(`TLS 1.2 ${cipher}, with the server's identity hint`, async (t) => {
          const own = owner(t);
          const key = key32();
          const server = await opensslServer(['-nocert', '-tls1_2', ...pskArgs('dev-1', key), '-psk_hint', 'hint-42', '-cipher', cipher, '-rev']);
          const hints = [];
          const ctx = own(
            ossl.createContext({
              role: 'client',
              maxVersion: 'TLSv1.2',
              cipherList: cipher,
              pskClient: (conn, hint) => (hints.push(hint), { identity: 'dev-1', psk: key }),
            }),
          );
          const conn = own(ctx.createConnection());
          await reverseEcho(conn, server.port);
          assert.equal(conn.protocol, 'TLSv1.2');
          assert.equal(conn.cipher.name, cipher);
          assert.deepEqual(hints, ['hint-42']);
          assert.equal(conn.keyExchangeGroup, cipher.startsWith('ECDHE') ? 'X25519' : cipher.startsWith('DHE') ? 'DH' : null);
          conn.free();
          ctx.free();
          await server.stop();
        });
      }

      test('wrong key, TLS 1.3: a typed failure with the alert the server sent', async (t) => {
        const own = owner(t);
        const server = await opensslServer(['-nocert', '-tls1_3', ...pskArgs('dev-1', key32()), '-rev']);
        const client = own(tls13Client('dev-1', key32()));
        const conn = own(client.ctx.createConnection());
        const tls = connectTcp(conn, server.port);
        const error = await tls.handshake().then(
          () => null,
          (e) => e,
        );
        assert.ok(error instanceof TlsError, String(error));
        assert.equal(error.code, 'ERR_PSK_WRONG_KEY');
        assert.equal(error.alert?.direction, 'received');
        assert.equal(error.alert?.level, 'fatal');
        await tls.close();
        conn.free();
        client.free();
        await server.stop();
      });

      test('unknown identity, TLS 1.3: s_server answers handshake_failure, which reads as ERR_NO_SHARED_CIPHER (documented)', async (t) => {
        const own = owner(t);
        const key = key32();
        const server = await opensslServer(['-nocert', '-tls1_3', ...pskArgs('known', key), '-rev']);
        const client = own(tls13Client('unknown', key));
        const conn = own(client.ctx.createConnection());
        const tls = connectTcp(conn, server.port);
        const error = await tls.handshake().then(
          () => null,
          (e) => e,
        );
        assert.equal(error?.code, 'ERR_NO_SHARED_CIPHER');
        assert.match(error.message, /unknown TLS 1.3 PSK identity/);
        await tls.close();
        conn.free();
        client.free();
        await server.stop();
      });

      test('wrong key, TLS 1.2: bad_record_mac from the server, a typed failure', async (t) => {
        const own = owner(t);
        const server = await opensslServer(['-nocert', '-tls1_2', ...pskArgs('dev-1', key32()), '-cipher', 'PSK-AES128-GCM-SHA256', '-rev']);
        const ctx = own(
          ossl.createContext({ role: 'client', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskClient: () => ({ identity: 'dev-1', psk: key32() }) }),
        );
        const conn = own(ctx.createConnection());
        const tls = connectTcp(conn, server.port);
        const error = await tls.handshake().then(
          () => null,
          (e) => e,
        );
        assert.ok(error instanceof TlsError, String(error));
        assert.equal(error.code, 'ERR_PSK_WRONG_KEY');
        assert.deepEqual([error.alert?.direction, error.alert?.name], ['received', 'bad_record_mac']);
        await tls.close();
        conn.free();
        ctx.free();
        await server.stop();
      });
    });

    describe('openssl s_client -> wasm server', () => {
      /** Runs s_client against a wasm echo server, sends `line`, and waits for its echo. */
      async function echoFromClient(createConnection, clientArgs, line = 'hello from s_client') {
        const server = await listenTcpEcho(createConnection);
        const client = opensslClient(server.port, ['-quiet', ...clientArgs]);
        try {
          client.write(`${line}\n`);
          await client.waitFor(`${line}\n`, { timeoutMs: 10000 });
          assert.deepEqual(server.errors, []);
          return server.sessions[0].connection;
        } finally {
          await client.stop();
          await server.close();
        }
      }

      test('TLS 1.3 PSK, psk_dhe_ke, SHA-256 (s_client lists TLS_AES_256_GCM_SHA384 first)', async (t) => {
        const own = owner(t);
        const key = key32();
        const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }));
        const seen = [];
        const ctx = own(ossl.createContext({ role: 'server', pskFindSession: (conn, id) => (seen.push(str(id)), session) }));
        let conn;
        await echoFromClient(() => (conn = ctx.createConnection()), ['-tls1_3', ...pskArgs('dev-1', key)]);
        assert.deepEqual(seen, ['dev-1']);
        ctx.free();
        session.free();
        assert.ok(conn.freed);
      });

      test('TLS 1.3 PSK, psk_ke: s_client -allow_no_dhe_kex, no shared group', async (t) => {
        const own = owner(t);
        const key = key32();
        const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' }));
        const groups = [];
        const ctx = own(ossl.createContext({ role: 'server', allowNoDheKex: true, groups: 'P-256', pskFindSession: () => session }));
        const server = await listenTcpEcho(() => ctx.createConnection());
        const client = opensslClient(server.port, ['-quiet', '-tls1_3', '-allow_no_dhe_kex', '-groups', 'X25519', ...pskArgs('dev-1', key)]);
        client.write('psk_ke\n');
        await client.waitFor('psk_ke\n');
        const conn = server.sessions[0].connection;
        groups.push(conn.keyExchangeGroup);
        assert.equal(conn.sessionReused, true);
        assert.deepEqual(groups, [null]);
        await client.stop();
        await server.close();
      });

      test('TLS 1.3 PSK, SHA-384, s_client -psk_session', async (t) => {
        const own = owner(t);
        const key = key48();
        const file = pskSessionFile({ key, cipherId: 0x1302 });
        const session = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_256_GCM_SHA384' }));
        const ctx = own(ossl.createContext({ role: 'server', pskFindSession: () => session }));
        const server = await listenTcpEcho(() => ctx.createConnection());
        const client = opensslClient(server.port, ['-quiet', '-tls1_3', '-psk_session', file.path, '-psk_identity', 'dev-384']);
        client.write('sha384\n');
        await client.waitFor('sha384\n');
        assert.equal(server.sessions[0].connection.cipher.name, 'TLS_AES_256_GCM_SHA384');
        await client.stop();
        await server.close();
        ctx.free();
        session.free();
        file.cleanup();
      });

      for (const cipher of ['PSK-AES128-GCM-SHA256', 'ECDHE-PSK-CHACHA20-POLY1305', 'DHE-PSK-AES256-GCM-SHA384', 'PSK-AES128-CBC-SHA256']) {
        test(`TLS 1.2 ${cipher}, the identity reaches the server callback`, async (t) => {
          const own = owner(t);
          const key = key32();
          const identities = [];
          const ctx = own(
            ossl.createContext({
              role: 'server',
              cipherList: cipher,
              pskIdentityHint: 'wasm-hint',
              pskServer: (conn, identity) => (identities.push(identity), identity === 'dev-1' ? key : null),
            }),
          );
          const server = await listenTcpEcho(() => ctx.createConnection());
          const client = opensslClient(server.port, ['-quiet', '-tls1_2', '-cipher', cipher, ...pskArgs('dev-1', key)]);
          client.write('tls12\n');
          await client.waitFor('tls12\n');
          const conn = server.sessions[0].connection;
          assert.equal(conn.cipher.name, cipher);
          assert.equal(conn.pskIdentity, 'dev-1');
          assert.deepEqual(identities, ['dev-1']);
          await client.stop();
          await server.close();
        });
      }

      test('wrong key from s_client, TLS 1.3 and TLS 1.2: the wasm server fails cleanly, with a typed error', async (t) => {
        const own = owner(t);
        for (const [version, extra] of [
          ['-tls1_3', []],
          ['-tls1_2', ['-cipher', 'PSK-AES128-GCM-SHA256']],
        ]) {
          const session = own(ossl.createPskSession({ masterKey: key32(), cipher: 'TLS_AES_128_GCM_SHA256' }));
          const key = key32();
          const ctx = own(ossl.createContext({ role: 'server', pskFindSession: () => session, pskServer: () => key }));
          const server = await listenTcpEcho(() => ctx.createConnection());
          const client = opensslClient(server.port, ['-quiet', version, ...extra, ...pskArgs('dev-1', key32())]);
          const exit = await withTimeout(client.exited, 10000);
          assert.notEqual(exit, 'timeout');
          assert.notEqual(exit.code, 0, 's_client fails too');
          for (let i = 0; i < 50 && server.errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
          assert.equal(server.errors.length, 1, version);
          assert.ok(server.errors[0] instanceof TlsError);
          assert.equal(server.errors[0].code, 'ERR_PSK_WRONG_KEY');
          assert.equal(server.errors[0].alert?.level, 'fatal');
          await server.close();
          ctx.free();
          session.free();
        }
      });
    });
  });
}
