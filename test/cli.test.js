// `openssl-psk-wasm s_client` and `s_server` as processes, against `openssl s_server`/`s_client`,
// `gnutls-serv`, each other and the bridge: the flags keep OpenSSL's names and meanings.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startBridge } from '../lib/node/bridge.js';
import { gnutlsServer, opensslClient, opensslServer, pskArgs, startPeer, stopPeers } from './helpers/peers.js';
import { key32, key48 } from './helpers/psk.js';
import { pskSessionFile } from './helpers/session-pem.js';

after(stopPeers);

const CLI = new URL('../bin/openssl-psk-wasm.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'opw-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ourClient = (args) => startPeer('our s_client', process.execPath, [CLI, 's_client', ...args]);

async function ourServer(args) {
  const peer = startPeer('our s_server', process.execPath, [CLI, 's_server', '-accept', '0', ...args]);
  const [, port] = await peer.waitFor(/ACCEPT [^\n]*:(\d+)\n/);
  peer.port = Number(port);
  return peer;
}

/** Sends a line, waits for the answer, ends standard input; asserts the client exits 0. */
async function converse(client, line, answer) {
  await client.waitFor(/---\n[^]*---\n/);
  client.write(`${line}\n`);
  await client.waitFor(answer);
  client.child.stdin.end();
  assert.deepEqual(await client.exited, { code: 0, signal: null }, client.output);
}

describe('our s_client -> openssl s_server -rev', { timeout: 60000 }, () => {
  test('TLS 1.3 with -psk/-psk_identity, X25519 key exchange by default', async () => {
    const key = key32();
    const server = await opensslServer(['-nocert', '-rev', ...pskArgs('dev-1', key)]);
    const client = ourClient(['-connect', `127.0.0.1:${server.port}`, ...pskArgs('dev-1', key)]);
    await converse(client, 'hello from the CLI', 'ILC eht morf olleh');
    assert.match(client.output, new RegExp(`CONNECTED\\(127\\.0\\.0\\.1:${server.port}\\)`));
    assert.match(client.output, /Protocol {2}: TLSv1\.3/);
    assert.match(client.output, /Cipher {4}: TLS_CHACHA20_POLY1305_SHA256/); // our default order: constant-time in wasm first
    assert.match(client.output, /Key exchange: X25519/);
    await server.stop();
  });

  test('-tls1_2 -cipher picks the TLS 1.2 suite; -psk_hint reaches the client', async () => {
    const key = key32();
    const server = await opensslServer(['-nocert', '-rev', '-psk_hint', 'openssl-hint', ...pskArgs('dev-1', key)]);
    const client = ourClient(['-connect', `127.0.0.1:${server.port}`, '-tls1_2', '-cipher', 'PSK-AES256-CBC-SHA384', ...pskArgs('dev-1', key)]);
    await converse(client, 'abc', 'cba');
    assert.match(client.output, /Protocol {2}: TLSv1\.2/);
    assert.match(client.output, /Cipher {4}: PSK-AES256-CBC-SHA384/);
    await server.stop();
  });

  test('-ciphersuites -groups -allow_no_dhe_kex: psk_ke when the server shares no group', async () => {
    const key = key32();
    const server = await opensslServer(['-nocert', '-rev', '-allow_no_dhe_kex', '-groups', 'P-384', ...pskArgs('dev-1', key)]);
    const client = ourClient([
      '-connect',
      `127.0.0.1:${server.port}`,
      '-tls1_3',
      '-ciphersuites',
      'TLS_CHACHA20_POLY1305_SHA256',
      '-groups',
      'X25519',
      '-allow_no_dhe_kex',
      ...pskArgs('dev-1', key),
    ]);
    await converse(client, 'no dhe', 'ehd on');
    assert.match(client.output, /Cipher {4}: TLS_CHACHA20_POLY1305_SHA256/);
    assert.match(client.output, /Key exchange: none \(PSK only\)/);
    await server.stop();
  });

  test('-psk_session: a SHA-384 PSK from a session file', async () => {
    const key = key48();
    const file = pskSessionFile({ key, cipherId: 0x1302 });
    const server = await opensslServer(['-nocert', '-rev', '-tls1_3', '-psk_session', file.path, '-psk_identity', 'dev-384']);
    const client = ourClient(['-connect', `127.0.0.1:${server.port}`, '-psk_session', file.path, '-psk_identity', 'dev-384']);
    await converse(client, '384', '483');
    assert.match(client.output, /Cipher {4}: TLS_AES_256_GCM_SHA384/);
    await server.stop();
    file.cleanup();
  });

  test('-early_data sends the file as 0-RTT data, accepted by s_server -early_data', async () => {
    const key = key48();
    const file = pskSessionFile({ key, cipherId: 0x1302, maxEarlyData: 16384 });
    const early = join(dir, 'early.txt');
    writeFileSync(early, 'EARLY-FROM-THE-CLI\n');
    const server = await opensslServer(['-nocert', '-tls1_3', '-psk_session', file.path, '-psk_identity', 'dev-ed', '-early_data']);
    const client = ourClient(['-connect', `127.0.0.1:${server.port}`, '-psk_session', file.path, '-psk_identity', 'dev-ed', '-early_data', early]);
    await client.waitFor('Early data was accepted');
    await server.waitFor('Early data received:');
    await server.waitFor('EARLY-FROM-THE-CLI');
    client.child.stdin.end();
    assert.equal((await client.exited).code, 0);
    await server.stop();
    file.cleanup();
  });

  test('-sess_out writes the ticket, -sess_in resumes it', async () => {
    const key = key32();
    const server = await opensslServer(['-nocert', '-rev', ...pskArgs('dev-1', key)]);
    const sess = join(dir, 'resume.pem');
    const first = ourClient(['-connect', `127.0.0.1:${server.port}`, '-sess_out', sess, ...pskArgs('dev-1', key)]);
    await converse(first, 'first', 'tsrif');
    assert.match(readFileSync(sess, 'utf8'), /^-----BEGIN SSL SESSION PARAMETERS-----\n[^]+-----END SSL SESSION PARAMETERS-----\n$/);
    // No -psk this time: only the ticket can make this handshake succeed.
    const again = ourClient(['-connect', `127.0.0.1:${server.port}`, '-sess_in', sess]);
    await converse(again, 'again', 'niaga');
    assert.match(again.output, /Reused {4}: yes/);
    await server.stop();
  });

  test('a wrong key fails with its error code and exit status 1', async () => {
    const server = await opensslServer(['-nocert', ...pskArgs('dev-1', key32())]);
    const client = ourClient(['-connect', `127.0.0.1:${server.port}`, '-tls1_2', ...pskArgs('dev-1', key32())]);
    assert.equal((await client.exited).code, 1);
    assert.match(client.output, /s_client: ERR_PSK_WRONG_KEY: /);
    await server.stop();
  });

  test('-msg prints each handshake message, -keylogfile writes NSS key log lines', async () => {
    const key = key32();
    const keylog = join(dir, 'keys.log');
    const server = await opensslServer(['-nocert', '-rev', ...pskArgs('dev-1', key)]);
    const client = ourClient(['-connect', `127.0.0.1:${server.port}`, '-msg', '-keylogfile', keylog, ...pskArgs('dev-1', key)]);
    await converse(client, 'msg', 'gsm');
    for (const message of ['>>> TLS 1.3, Handshake [length 0', 'ClientHello', '<<< TLS 1.3, Handshake', 'ServerHello', 'Finished']) {
      assert.ok(client.output.includes(message), `-msg output lacks ${message}:\n${client.output}`);
    }
    const labels = readFileSync(keylog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0])
      .sort();
    assert.deepEqual(labels, [
      'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
      'CLIENT_TRAFFIC_SECRET_0',
      'EXPORTER_SECRET',
      'SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'SERVER_TRAFFIC_SECRET_0',
    ]);
    await server.stop();
  });
});

describe('our s_client -> gnutls-serv --echo', { timeout: 60000 }, () => {
  for (const [version, priority, flag] of [
    ['TLS 1.3', 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:+DHE-PSK', '-tls1_3'],
    ['TLS 1.2', 'NORMAL:-VERS-ALL:+VERS-TLS1.2:+PSK:+ECDHE-PSK:+DHE-PSK:+SHA256', '-tls1_2'],
  ]) {
    test(version, async () => {
      const key = key32();
      const server = await gnutlsServer({ users: new Map([['dev-1', key]]), priority });
      const client = ourClient(['-connect', `127.0.0.1:${server.port}`, flag, ...pskArgs('dev-1', key)]);
      await converse(client, `echo over ${version}`, `echo over ${version}\n`);
      assert.match(client.output, new RegExp(`Protocol {2}: TLSv${version.slice(4)}`));
      await server.stop();
    });
  }
});

describe('openssl s_client -> our s_server', { timeout: 60000 }, () => {
  test('TLS 1.3: what each side sends reaches the other', async () => {
    const key = key32();
    const server = await ourServer(['-naccept', '1', ...pskArgs('dev-1', key)]);
    const client = opensslClient(server.port, pskArgs('dev-1', key));
    await server.waitFor('Protocol  : TLSv1.3');
    client.write('from openssl\n');
    await server.waitFor('from openssl\n');
    server.write('from ours\n');
    await client.waitFor('from ours\n');
    client.child.stdin.end(); // s_client sends close_notify at the end of its input
    await server.waitFor('DONE');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });

  test('TLS 1.2 -rev with -psk_hint, sequential connections', async () => {
    const key = key32();
    const server = await ourServer(['-naccept', '2', '-rev', '-tls1_2', '-psk_hint', 'our-hint', ...pskArgs('dev-1', key)]);
    for (const word of ['one', 'two']) {
      const client = opensslClient(server.port, pskArgs('dev-1', key));
      client.write(`${word}\n`);
      await client.waitFor([...word].reverse().join(''));
      client.child.stdin.end();
      assert.equal((await client.exited).code, 0);
    }
    assert.equal((await server.exited).code, 0);
    assert.match(server.output, /Protocol {2}: TLSv1\.2/);
  });

  test("without -naccept (README's example) it serves one client after another until stopped", async () => {
    const key = key32();
    const server = await ourServer(['-rev', ...pskArgs('dev-1', key)]);
    for (const word of ['first', 'second', 'third']) {
      const client = opensslClient(server.port, pskArgs('dev-1', key));
      client.write(`${word}\n`);
      await client.waitFor([...word].reverse().join(''));
      client.child.stdin.end();
      assert.equal((await client.exited).code, 0);
    }
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.output);
  });

  test('a silent client does not hold up the next: handshakes run side by side, sessions one after another', async () => {
    const key = key32();
    const server = await ourServer(['-rev', ...pskArgs('dev-1', key)]);
    const silent = [1, 2, 3].map(() => connect(server.port, '127.0.0.1').on('error', () => {}));
    let silentClosed = false;
    for (const s of silent) s.on('close', () => (silentClosed = true));
    await new Promise((r) => setTimeout(r, 200)); // the silent ones are first in line
    const client = opensslClient(server.port, pskArgs('dev-1', key));
    client.write('not blocked\n');
    await client.waitFor('dekcolb ton', { timeoutMs: 20000 });
    assert.equal(silentClosed, false, 'served while the silent clients still wait for their handshake timeout');
    client.child.stdin.end();
    assert.equal((await client.exited).code, 0);
    for (const s of silent) s.destroy();
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.output);
  });

  test('-psk_identity is enforced: another identity is refused, the server keeps serving', async () => {
    const key = key32();
    const server = await ourServer(['-naccept', '2', '-rev', '-tls1_2', ...pskArgs('dev-1', key)]);
    const stranger = opensslClient(server.port, pskArgs('someone-else', key));
    await stranger.exited;
    await server.waitFor('ERR_PSK_UNKNOWN_IDENTITY');
    const friend = opensslClient(server.port, pskArgs('dev-1', key));
    friend.write('friend\n');
    await friend.waitFor('dneirf');
    friend.child.stdin.end();
    assert.equal((await server.exited).code, 1, 'one of the -naccept connections failed');
  });

  test('-early_data: openssl s_client 0-RTT data reaches our server first', async () => {
    const key = key48();
    const file = pskSessionFile({ key, cipherId: 0x1302, maxEarlyData: 16384 });
    const early = join(dir, 'early-openssl.txt');
    writeFileSync(early, 'EARLY-FROM-OPENSSL\n');
    const server = await ourServer(['-naccept', '1', '-early_data', '-psk_session', file.path, '-psk_identity', 'dev-ed']);
    const client = opensslClient(server.port, ['-psk_session', file.path, '-psk_identity', 'dev-ed', '-early_data', early]);
    await server.waitFor(/Early data was accepted\n---\nEARLY-FROM-OPENSSL\n/);
    client.child.stdin.end();
    assert.equal((await server.exited).code, 0);
    file.cleanup();
  });
});

describe('our s_client -> bridge -> our s_server', { timeout: 60000 }, () => {
  test('-connect ws://bridge/host:port', async (t) => {
    const key = key32();
    const server = await ourServer(['-naccept', '1', '-rev', ...pskArgs('dev-1', key)]);
    const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
    t.after(() => bridge.close());
    const client = ourClient(['-connect', `${bridge.url}/127.0.0.1:${server.port}`, ...pskArgs('dev-1', key)]);
    await converse(client, 'through the bridge', 'egdirb eht hguorht');
    assert.equal((await server.exited).code, 0);
  });
});

describe('usage', { timeout: 60000 }, () => {
  test('an unknown flag is refused with the list of supported ones (exit 2)', async () => {
    for (const command of ['s_client', 's_server']) {
      const p = startPeer(command, process.execPath, [CLI, command, '-reconnect']);
      assert.equal((await p.exited).code, 2);
      assert.match(p.output, new RegExp(`${command}: unknown option -reconnect; supported: .*-psk -psk_identity .*-keylogfile`));
      assert.match(p.output, new RegExp(`usage: openssl-psk-wasm ${command}`));
    }
  });

  test('--version prints the package and OpenSSL versions; bridge --help prints its usage (exit 0)', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const info = JSON.parse(readFileSync(new URL('../wasm/dist/build-info.json', import.meta.url), 'utf8'));
    const version = startPeer('--version', process.execPath, [CLI, '--version']);
    assert.equal((await version.exited).code, 0);
    assert.equal(version.output, `openssl-psk-wasm ${pkg.version}, OpenSSL 1.1.1w (Debian's ${info.openssl} sources)\n`);
    for (const help of ['--help', '-help', '-h']) {
      const p = startPeer('bridge --help', process.execPath, [CLI, 'bridge', help]);
      assert.equal((await p.exited).code, 0, help);
      assert.match(p.output, /^usage: openssl-psk-wasm bridge --listen HOST:PORT --allow HOST:PORT/);
      assert.doesNotMatch(p.output, /unknown option/);
    }
  });

  test('-help lists every flag with its meaning', async () => {
    const p = startPeer('s_client', process.execPath, [CLI, 's_client', '-help']);
    assert.equal((await p.exited).code, 0);
    for (const flag of [
      '-connect',
      '-psk',
      '-psk_identity',
      '-psk_session',
      '-sess_out',
      '-sess_in',
      '-tls1_2',
      '-tls1_3',
      '-ciphersuites',
      '-cipher',
      '-groups',
      '-allow_no_dhe_kex',
      '-early_data',
      '-msg',
      '-quiet',
      '-keylogfile',
    ]) {
      assert.match(p.output, new RegExp(`\\n  ${flag} `), flag);
    }
  });

  test('a malformed -psk and a missing PSK are usage errors', async () => {
    for (const args of [
      ['-psk', 'xyz'],
      ['-connect', '127.0.0.1:1'],
    ]) {
      const p = startPeer('s_client', process.execPath, [CLI, 's_client', ...args]);
      assert.equal((await p.exited).code, 2, p.output);
    }
  });
});
