// The observers of SSL_CTX: the keylog callback (NSS key log lines, decrypting a real capture
// with tshark), the message callback (-msg) and the new-session callback with PEM sessions
// (-sess_out/-sess_in), and what happens when an observer throws.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadOpenSSL, TlsError } from '../lib/index.js';
import { handshake, owner, str, text, transfer } from './helpers/pair.js';
import { opensslServer, pskArgs, startPeer, stopPeers, tsharkCapture } from './helpers/peers.js';
import { freeAll, key32, key48, pskClient, pskServer } from './helpers/psk.js';
import { pskSessionFile } from './helpers/session-pem.js';

const ossl = await loadOpenSSL();
after(stopPeers);
const dir = mkdtempSync(join(tmpdir(), 'opw-observers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A TLS 1.3 client and server over one SHA-256 or SHA-384 PSK, with extra context options. */
function pair({ key = key32(), cipher = 'TLS_AES_128_GCM_SHA256', client = {}, server = {} } = {}) {
  const session = ossl.createPskSession({ masterKey: key, cipher });
  const s = pskServer(ossl, new Map([['dev-1', session]]), server);
  const c = pskClient(ossl, 'dev-1', session, client);
  return { session, client: c.ctx, server: s.ctx, free: () => freeAll(c.ctx, s.ctx, session) };
}

const TLS13_LABELS = [
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_TRAFFIC_SECRET_0',
];

describe('onKeylog (SSL_CTX_set_keylog_callback)', () => {
  test('TLS 1.3: the five NSS secrets, the same lines on both sides, sized by the PSK hash', (t) => {
    const own = owner(t);
    for (const [cipher, hexLength, key] of [
      ['TLS_AES_128_GCM_SHA256', 64, key32()],
      ['TLS_AES_256_GCM_SHA384', 96, key48()],
    ]) {
      const lines = { client: [], server: [] };
      const p = own(pair({ key, cipher, client: { onKeylog: (line) => lines.client.push(line) }, server: { onKeylog: (line) => lines.server.push(line) } }));
      const c = own(p.client.createConnection());
      const s = own(p.server.createConnection());
      handshake(c, s);
      assert.deepEqual(lines.client.map((l) => l.split(' ')[0]).sort(), TLS13_LABELS, cipher);
      assert.deepEqual([...lines.client].sort(), [...lines.server].sort(), 'both sides log the same secrets');
      for (const line of lines.client) assert.match(line, new RegExp(`^[A-Z_0]+ [0-9a-f]{64} [0-9a-f]{${hexLength}}$`));
      assert.equal(new Set(lines.client.map((l) => l.split(' ')[1])).size, 1, 'one client random');
    }
  });

  test('TLS 1.2: one CLIENT_RANDOM line with the 48-byte master secret', (t) => {
    const own = owner(t);
    const lines = [];
    const client = own(
      ossl.createContext({
        role: 'client',
        maxVersion: 'TLSv1.2',
        pskClient: () => ({ identity: 'dev-1', psk: new Uint8Array(32).fill(7) }),
        onKeylog: (line) => lines.push(line),
      }),
    );
    const server = own(ossl.createContext({ role: 'server', pskServer: () => new Uint8Array(32).fill(7) }));
    const c = own(client.createConnection());
    const s = own(server.createConnection());
    handshake(c, s);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
  });

  test('setKeylogCallback(null) stops the lines; a context without one logs nothing', (t) => {
    const own = owner(t);
    const lines = [];
    const p = own(pair({ client: { onKeylog: (line) => lines.push(line) } }));
    p.client.setKeylogCallback(null);
    const c = own(p.client.createConnection());
    const s = own(p.server.createConnection());
    handshake(c, s);
    assert.deepEqual(lines, []);
  });

  test('a capture of our s_client is decrypted by tshark with the -keylogfile, and only with it', async (t) => {
    for (const [version, flags] of [
      ['TLS 1.3', ['-tls1_3']],
      ['TLS 1.2', ['-tls1_2', '-cipher', 'ECDHE-PSK-CHACHA20-POLY1305']],
    ]) {
      await t.test(version, async () => {
        const key = key32();
        const server = await opensslServer(['-nocert', '-rev', ...pskArgs('dev-1', key)]);
        const keylog = join(dir, `keys-${flags[0]}.log`);
        const capture = await tsharkCapture(server.port, dir);
        const cli = new URL('../bin/openssl-psk-wasm.js', import.meta.url).pathname;
        const client = startPeer('our s_client', process.execPath, [
          cli,
          's_client',
          '-connect',
          `127.0.0.1:${server.port}`,
          '-keylogfile',
          keylog,
          ...flags,
          ...pskArgs('dev-1', key),
        ]);
        await client.waitFor(/---\n[^]*---\n/);
        client.write('a secret for wireshark\n');
        await client.waitFor('krahseriw rof terces a');
        client.child.stdin.end();
        assert.equal((await client.exited).code, 0, client.output);
        await server.stop();
        const pcap = await capture.stop();
        assert.ok(statSync(pcap).size > 0);
        assert.ok(!readFileSync(pcap).includes('a secret for wireshark'), 'the wire carries no plaintext');
        const tshark = (args) => {
          const tls = ['-d', `tcp.port==${server.port},tls`]; // not a well-known TLS port
          const r = spawnSync('tshark', ['-r', pcap, ...tls, ...args], { encoding: 'latin1', timeout: 60000 });
          assert.equal(r.status, 0, r.stderr);
          return r.stdout;
        };
        assert.match(tshark([]), /Application Data/, 'tshark sees the TLS records');
        const follow = (extra) => tshark([...extra, '-q', '-z', 'follow,tls,ascii,0']);
        assert.doesNotMatch(follow([]), /a secret for wireshark/, 'without the keys, nothing is readable');
        const decrypted = follow(['-o', `tls.keylog_file:${keylog}`]);
        assert.match(decrypted, /a secret for wireshark/);
        assert.match(decrypted, /krahseriw rof terces a/);
      });
    }
  });
});

describe('onMessage (SSL_CTX_set_msg_callback)', () => {
  test('reports each handshake message in order, with its direction and version', (t) => {
    const own = owner(t);
    const messages = [];
    const p = own(pair({ client: { onMessage: (m) => messages.push(m) } }));
    const c = own(p.client.createConnection());
    const s = own(p.server.createConnection());
    handshake(c, s);
    const handshakes = messages.filter((m) => m.contentType === 22).map((m) => `${m.direction} ${m.bytes[0]}`);
    // ClientHello, ServerHello, EncryptedExtensions, Finished, Finished, then the ticket.
    assert.deepEqual(handshakes, ['sent 1', 'received 2', 'received 8', 'received 20', 'sent 20', 'received 4']);
    assert.ok(
      messages.some((m) => m.contentType === 256 && m.bytes.length === 5),
      'record headers are reported as 256',
    );
    assert.ok(
      messages.every((m) => m.bytes instanceof Uint8Array && (m.version === 0x0304 || m.version === 0x0303 || m.version === 0x0301 || m.version === 0)),
    );
  });

  test('alerts are reported as they go', (t) => {
    const own = owner(t);
    const messages = [];
    const p = own(pair({ server: { onMessage: (m) => messages.push(m) } }));
    const c = own(p.client.createConnection());
    const s = own(p.server.createConnection());
    handshake(c, s);
    c.shutdown();
    s.feed(c.drain());
    s.read();
    const alerts = messages.filter((m) => m.contentType === 21);
    assert.deepEqual(
      alerts.map((m) => [m.direction, m.bytes[0], m.bytes[1]]),
      [['received', 1, 0]],
      'close_notify received',
    );
  });
});

describe('onNewSession and PEM sessions', () => {
  test('the tickets of a TLS 1.3 handshake arrive as sessions; one from PEM resumes without the PSK', (t) => {
    const own = owner(t);
    const sessions = [];
    const p = own(pair({ client: { onNewSession: (session) => sessions.push(own(session)) } }));
    const c = own(p.client.createConnection());
    const s = own(p.server.createConnection());
    handshake(c, s);
    assert.deepEqual(str(transfer(s, c, text('tickets come first'))), 'tickets come first');
    assert.equal(sessions.length, 1, 'after a PSK handshake, an OpenSSL server sends one ticket');
    const pem = sessions[0].toPem();
    assert.match(pem, /^-----BEGIN SSL SESSION PARAMETERS-----\n[A-Za-z0-9+/=\n]+-----END SSL SESSION PARAMETERS-----\n$/);
    freeAll(c, s, ...sessions);

    const resumed = own(ossl.sessionFromPem(pem));
    const bare = own(ossl.createContext({ role: 'client' })); // no PSK: only the ticket can succeed
    const c2 = own(bare.createConnection());
    c2.setSession(resumed);
    const s2 = own(p.server.createConnection());
    handshake(c2, s2);
    assert.equal(c2.sessionReused, true);
    assert.equal(str(transfer(c2, s2, text('resumed'))), 'resumed');
  });

  test('toPem() is read by `openssl sess_id`, and a natively encoded session by sessionFromPem()', (t) => {
    const own = owner(t);
    const key = key48();
    const ours = own(ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_256_GCM_SHA384', maxEarlyData: 1000 }));
    const pem = ours.toPem();
    const parsed = spawnSync('openssl', ['sess_id', '-text', '-noout'], { input: pem, encoding: 'latin1' });
    assert.equal(parsed.status, 0, parsed.stderr);
    assert.match(parsed.stdout, /Protocol {2}: TLSv1\.3/);
    assert.match(parsed.stdout, /Cipher {4}: TLS_AES_256_GCM_SHA384/);
    assert.match(parsed.stdout, new RegExp(`Resumption PSK: ${Buffer.from(key).toString('hex').toUpperCase()}`));
    assert.match(parsed.stdout, /Max Early Data: 1000/);
    const file = pskSessionFile({ key, cipherId: 0x1303, maxEarlyData: 77 });
    const native = own(ossl.sessionFromPem(readFileSync(file.path, 'utf8')));
    file.cleanup();
    assert.equal(native.cipher?.name, 'TLS_CHACHA20_POLY1305_SHA256');
    assert.equal(native.maxEarlyData, 77);
    assert.equal(native.masterKeyLength, 48);
  });

  test('sessionFromPem refuses what is not a session PEM with a typed error', () => {
    for (const bad of [
      '',
      'hello',
      '-----BEGIN SSL SESSION PARAMETERS-----\nAAAA\n-----END SSL SESSION PARAMETERS-----\n',
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ]) {
      assert.throws(
        () => ossl.sessionFromPem(bad),
        (e) => e instanceof TlsError && e.code === 'ERR_INVALID_ARGUMENT' && /session|PEM/i.test(e.message),
        JSON.stringify(bad.slice(0, 20)),
      );
    }
    assert.throws(
      () => ossl.sessionFromPem(new Uint8Array(3)),
      (e) => e instanceof TlsError && e.code === 'ERR_INVALID_ARGUMENT',
    );
  });
});

describe('an observer that throws', () => {
  test('fails its own connection with ERR_CALLBACK (the error as cause), not its neighbour', (t) => {
    const own = owner(t);
    const boom = new Error('observer bug');
    let calls = 0;
    const p = own(
      pair({
        client: {
          onMessage: () => {
            if (++calls === 3) throw boom;
          },
        },
      }),
    );
    const neighbour = own(pair());
    const nc = own(neighbour.client.createConnection());
    const ns = own(neighbour.server.createConnection());
    const c = own(p.client.createConnection());
    const s = own(p.server.createConnection());
    assert.throws(
      () => handshake(c, s),
      (e) => e instanceof TlsError && e.code === 'ERR_CALLBACK' && e.cause === boom,
    );
    handshake(nc, ns);
    assert.equal(str(transfer(nc, ns, text('unharmed'))), 'unharmed');
  });

  test('an onNewSession that throws fails the connection, and the session is freed', (t) => {
    const own = owner(t);
    const p = own(
      pair({
        client: {
          onNewSession: () => {
            throw new Error('no room');
          },
        },
      }),
    );
    const round = () => {
      const c = p.client.createConnection();
      const s = p.server.createConnection();
      // The ticket comes right after the handshake, which handshake() reads.
      assert.throws(
        () => handshake(c, s),
        (e) => e instanceof TlsError && e.code === 'ERR_CALLBACK' && e.cause.message === 'no room',
      );
      assert.throws(
        () => c.write(text('x')),
        (e) => e.code === 'ERR_CALLBACK',
        'the failure is sticky',
      );
      freeAll(c, s);
    };
    round();
    const settled = ossl.heapStats().inUseBytes;
    for (let i = 0; i < 20; i++) round();
    assert.equal(ossl.heapStats().inUseBytes, settled, 'no session left behind');
  });
});
