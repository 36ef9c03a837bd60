// The Node examples run as a user would run them: examples/node (client and server, against
// each other and the native CLI) and examples/mqtt (publishing to a TLS-PSK mosquitto through
// the bridge, received by the native mosquitto_sub).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startBridge } from '../lib/node/bridge.js';
import { mosquittoBroker, opensslClient, opensslServer, pskArgs, startPeer, stopPeers } from './helpers/peers.js';
import { key32 } from './helpers/psk.js';

after(stopPeers);
const example = (path) => new URL(`../examples/${path}`, import.meta.url).pathname;
const hex = (key) => Buffer.from(key).toString('hex');
const node = (path, args) => startPeer(path, process.execPath, [example(path), ...args]);

describe('examples/node', { timeout: 60000 }, () => {
  async function server(args) {
    const peer = node('node/server.mjs', ['0', ...args]);
    const [, port] = await peer.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    peer.port = Number(port);
    return peer;
  }

  test('client.mjs -> server.mjs: the line comes back in capitals; an unknown identity is refused', async () => {
    const key = key32();
    const srv = await server(['alice', hex(key), 'bob', hex(key32())]);
    const client = node('node/client.mjs', [`127.0.0.1:${srv.port}`, 'alice', hex(key), 'make me loud']);
    assert.equal((await client.exited).code, 0, client.output);
    assert.match(client.output, /TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256, key exchange X25519\nanswer: MAKE ME LOUD\n/);
    const stranger = node('node/client.mjs', [`127.0.0.1:${srv.port}`, 'carol', hex(key)]);
    assert.equal((await stranger.exited).code, 1);
    assert.match(stranger.output, /^ERR_PSK_UNKNOWN_IDENTITY: /m);
    await srv.waitFor(/failed: ERR_PSK_UNKNOWN_IDENTITY/);
    await srv.stop();
  });

  test('openssl s_client -> server.mjs (TLS 1.2); client.mjs -> openssl s_server through a ws:// bridge', async (t) => {
    const key = key32();
    const srv = await server(['dev-1', hex(key)]);
    const native = opensslClient(srv.port, ['-tls1_2', ...pskArgs('dev-1', key)]);
    native.write('from openssl\n');
    await native.waitFor('FROM OPENSSL');
    native.child.stdin.end();
    await srv.waitFor(/TLSv1\.2 /);
    await srv.stop();

    const s = await opensslServer(['-nocert', '-rev', ...pskArgs('dev-1', key)]);
    const bridge = await startBridge({ allow: [`127.0.0.1:${s.port}`] });
    t.after(() => bridge.close());
    const client = node('node/client.mjs', [`${bridge.url}/127.0.0.1:${s.port}`, 'dev-1', hex(key), 'via the bridge']);
    assert.equal((await client.exited).code, 0, client.output);
    assert.match(client.output, /answer: egdirb eht aiv/);
    await s.stop();
  });

  test('key-store-server.mjs: keys read from a file as clients ask; a key added later counts; unknown and TLS 1.2 refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opw-keys-'));
    const file = join(dir, 'psk.keys');
    const alice = key32();
    const bob = key32();
    writeFileSync(file, `alice:${hex(alice)}\n`);
    const srv = node('node/key-store-server.mjs', ['0', file]);
    try {
      const [, port] = await srv.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
      const ask = async (identity, key, extra = ['-tls1_3']) => {
        const c = opensslClient(Number(port), [...extra, ...pskArgs(identity, key)]);
        c.write(`hello ${identity}\n`);
        return c;
      };
      const a = await ask('alice', alice);
      await a.waitFor('HELLO ALICE');
      await a.stop();
      writeFileSync(file, `alice:${hex(alice)}\nbob:${hex(bob)}\n`); // no restart
      const b = await ask('bob', bob);
      await b.waitFor('HELLO BOB');
      await b.stop();
      await srv.waitFor('looked up "bob": found');
      const c = await ask('carol', key32());
      await c.exited;
      await srv.waitFor(/failed: ERR_PSK_UNKNOWN_IDENTITY/);
      const old = await ask('alice', alice, ['-tls1_2', '-cipher', 'PSK-AES128-GCM-SHA256']);
      await old.exited;
      await srv.waitFor(/failed: ERR_PROTOCOL_VERSION .*TLS 1\.3 only/);
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad arguments print the usage and exit 2', async () => {
    for (const [path, args] of [
      ['node/client.mjs', ['127.0.0.1:1', 'id', 'not-hex']],
      ['node/server.mjs', ['0']],
      ['node/key-store-server.mjs', ['0']],
    ]) {
      const p = node(path, args);
      assert.equal((await p.exited).code, 2);
      assert.match(p.output, /^usage: node examples\//);
    }
  });
});

describe('examples/mqtt', { timeout: 60000 }, () => {
  test('publish.mjs publishes through the bridge to a TLS-PSK mosquitto; mosquitto_sub receives it', async (t) => {
    const pubKey = key32();
    const subKey = key32();
    const broker = await mosquittoBroker({
      users: new Map([
        ['browser-1', pubKey],
        ['native-sub', subKey],
      ]),
    });
    const bridge = await startBridge({ allow: [`127.0.0.1:${broker.port}`] });
    t.after(() => bridge.close());
    // stdbuf: mosquitto_sub's stdout is a pipe here, which stdio would buffer.
    const sub = startPeer('mosquitto_sub', 'stdbuf', [
      '-oL',
      'mosquitto_sub',
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.port),
      '--psk',
      hex(subKey),
      '--psk-identity',
      'native-sub',
      '-t',
      'sensors/+/temp',
      '-C',
      '1',
      '-v',
      '-d',
    ]);
    await sub.waitFor('received SUBACK');
    const pub = node('mqtt/publish.mjs', [`${bridge.url}/127.0.0.1:${broker.port}`, 'browser-1', hex(pubKey), 'sensors/kitchen/temp', '21.5 °C']);
    assert.equal((await pub.exited).code, 0, pub.output);
    assert.match(pub.output, /published to sensors\/kitchen\/temp \(TLSv1\.3 .*\), acknowledged by the broker/);
    await sub.waitFor('sensors/kitchen/temp 21.5 °C'.replace('°', '\u00c2\u00b0')); // output is read as latin1
    assert.equal((await sub.exited).code, 0);

    const wrong = node('mqtt/publish.mjs', [`${bridge.url}/127.0.0.1:${broker.port}`, 'browser-1', hex(key32()), 'sensors/x/temp', 'no']);
    assert.equal((await wrong.exited).code, 1);
    assert.match(wrong.output, /ERR_PSK_WRONG_KEY|ERR_PSK_UNKNOWN_IDENTITY/);
    await broker.stop();
  });
});
