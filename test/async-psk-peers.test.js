// acceptTls({ findPsk }) against real TLS 1.3 clients over loopback TCP: `openssl s_client`
// (-psk/-psk_identity, -psk_session with SHA-384 and early data, -tls1_2 refused) and
// `gnutls-cli --pskusername --pskkey`, with lookups that take 0 ms, 50 ms, and fail.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { after, describe, test } from 'node:test';
import { acceptTls, loadOpenSSL } from '../lib/index.js';
import { str } from './helpers/pair.js';
import { gnutlsClient, opensslClient, pskArgs, stopPeers, withTimeout } from './helpers/peers.js';
import { key32, key48 } from './helpers/psk.js';
import { pskSessionFile } from './helpers/session-pem.js';

const ossl = await loadOpenSSL();
after(stopPeers);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const GNUTLS_TLS13 = 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:+DHE-PSK';

/** A TCP echo server on 127.0.0.1 serving acceptTls with `options`; records each socket's outcome. */
async function listenFindPsk(options) {
  const outcomes = [];
  const sockets = new Set();
  const listener = createServer((tcp) => {
    sockets.add(tcp);
    tcp.on('close', () => sockets.delete(tcp));
    const tls = acceptTls(Duplex.toWeb(tcp), { openssl: ossl, ...options });
    const outcome = { info: null, error: null, early: null };
    outcomes.push(outcome);
    tls.opened.then(
      (info) => {
        outcome.info = info;
        tls.readable.pipeTo(tls.writable).catch(() => {});
      },
      (error) => (outcome.error = error),
    );
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  return {
    port: listener.address().port,
    outcomes,
    async settled() {
      for (let i = 0; i < 250 && !outcomes.every((o) => o.info || o.error); i++) await sleep(20);
      return outcomes;
    },
    close() {
      for (const tcp of sockets) tcp.destroy();
      listener.close();
    },
  };
}

/** A findPsk over a table of identity → { key, cipher }, each lookup taking `ms`, or failing. */
function lookup(table, { ms = 0, fail = false, asked = [] } = {}) {
  return async (identity) => {
    asked.push(str(identity));
    if (ms > 0) await sleep(ms);
    if (fail) throw new Error('the key store is unavailable');
    return table.get(str(identity)) ?? null;
  };
}

describe('openssl s_client -> acceptTls({ findPsk })', () => {
  for (const ms of [0, 50]) {
    test(`TLS 1.3, -psk -psk_identity, a lookup that takes ${ms} ms`, async () => {
      const key = key32();
      const asked = [];
      const server = await listenFindPsk({ findPsk: lookup(new Map([['dev-1', { key }]]), { ms, asked }) });
      const client = opensslClient(server.port, ['-quiet', '-tls1_3', ...pskArgs('dev-1', key)]);
      try {
        client.write('async lookup\n');
        await client.waitFor('async lookup\n');
        const [outcome] = await server.settled();
        assert.equal(outcome.error, null);
        assert.equal(outcome.info.protocol, 'TLSv1.3');
        assert.equal(outcome.info.sessionReused, true);
        assert.deepEqual(asked, ['dev-1']);
      } finally {
        await client.stop();
        server.close();
      }
    });
  }

  test('TLS 1.3 with a HelloRetryRequest (the server takes only P-256): one lookup of 50 ms serves both ClientHellos', async () => {
    const key = key32();
    const asked = [];
    const server = await listenFindPsk({ groups: 'P-256', findPsk: lookup(new Map([['dev-1', { key }]]), { ms: 50, asked }) });
    const client = opensslClient(server.port, ['-quiet', '-tls1_3', '-groups', 'X25519:P-256', ...pskArgs('dev-1', key)]);
    try {
      client.write('after a retry\n');
      await client.waitFor('after a retry\n');
      const [outcome] = await server.settled();
      assert.equal(outcome.error, null);
      assert.equal(outcome.info.keyExchangeGroup, 'P-256');
      assert.deepEqual(asked, ['dev-1']);
    } finally {
      await client.stop();
      server.close();
    }
  });

  test('TLS 1.3, a lookup that fails: ERR_PSK_LOOKUP on the server, internal_error at s_client', async () => {
    const server = await listenFindPsk({ findPsk: lookup(new Map(), { fail: true }) });
    const client = opensslClient(server.port, ['-tls1_3', ...pskArgs('dev-1', key32())]);
    try {
      const exit = await withTimeout(client.exited, 10000);
      assert.notEqual(exit, 'timeout');
      assert.match(client.output, /alert internal error/);
      const [outcome] = await server.settled();
      assert.equal(outcome.error?.code, 'ERR_PSK_LOOKUP');
      assert.equal(outcome.error.cause?.message, 'the key store is unavailable');
    } finally {
      await client.stop();
      server.close();
    }
  });

  test('TLS 1.3, an unknown identity: unknown_psk_identity at s_client', async () => {
    const server = await listenFindPsk({ findPsk: lookup(new Map()) });
    const client = opensslClient(server.port, ['-tls1_3', ...pskArgs('stranger', key32())]);
    try {
      const exit = await withTimeout(client.exited, 10000);
      assert.notEqual(exit, 'timeout');
      assert.match(client.output, /unknown psk identity/i);
      const [outcome] = await server.settled();
      assert.equal(outcome.error?.code, 'ERR_PSK_UNKNOWN_IDENTITY');
    } finally {
      await client.stop();
      server.close();
    }
  });

  test('TLS 1.3, -psk_session (a SHA-384 PSK) with early data, answered { key, cipher } after 50 ms', async () => {
    const key = key48();
    const file = pskSessionFile({ key, cipherId: 0x1302, maxEarlyData: 1024 });
    const early = `${file.path}.early`;
    writeFileSync(early, 'sent as 0-RTT\n');
    const server = await listenFindPsk({
      maxEarlyData: 1024,
      findPsk: lookup(new Map([['dev-384', { key, cipher: 'TLS_AES_256_GCM_SHA384' }]]), { ms: 50 }),
    });
    const client = opensslClient(server.port, ['-quiet', '-tls1_3', '-psk_session', file.path, '-psk_identity', 'dev-384', '-early_data', early]);
    try {
      await client.waitFor('sent as 0-RTT\n'); // echoed: read from the early data
      const [outcome] = await server.settled();
      assert.equal(outcome.error, null);
      assert.equal(outcome.info.cipher, 'TLS_AES_256_GCM_SHA384');
      assert.equal(outcome.info.earlyDataAccepted, true);
    } finally {
      await client.stop();
      server.close();
      file.cleanup();
    }
  });

  test('TLS 1.2: refused with protocol_version, and a server error that says why', async () => {
    const key = key32();
    const asked = [];
    const server = await listenFindPsk({ findPsk: lookup(new Map([['dev-1', { key }]]), { asked }) });
    const client = opensslClient(server.port, ['-tls1_2', '-cipher', 'PSK-AES128-GCM-SHA256', ...pskArgs('dev-1', key)]);
    try {
      const exit = await withTimeout(client.exited, 10000);
      assert.notEqual(exit, 'timeout');
      assert.match(client.output, /alert protocol version/);
      const [outcome] = await server.settled();
      assert.equal(outcome.error?.code, 'ERR_PROTOCOL_VERSION');
      assert.match(outcome.error.message, /TLS 1\.3 only/);
      assert.deepEqual(asked, [], 'no lookup for a TLS 1.2 ClientHello');
    } finally {
      await client.stop();
      server.close();
    }
  });
});

describe('gnutls-cli -> acceptTls({ findPsk })', () => {
  for (const ms of [0, 50]) {
    test(`TLS 1.3 --pskusername --pskkey, a lookup that takes ${ms} ms`, async () => {
      const key = key32();
      const server = await listenFindPsk({ findPsk: lookup(new Map([['dev-1', { key }]]), { ms }) });
      const client = gnutlsClient(server.port, { identity: 'dev-1', key, priority: GNUTLS_TLS13 });
      try {
        await client.waitFor('Handshake was completed');
        client.write('hello from gnutls-cli\n');
        await client.waitFor('hello from gnutls-cli\n');
        const [outcome] = await server.settled();
        assert.equal(outcome.error, null);
        assert.equal(outcome.info.protocol, 'TLSv1.3');
      } finally {
        await client.stop();
        server.close();
      }
    });
  }

  test('TLS 1.3, a lookup that fails: gnutls-cli sees internal_error', async () => {
    const server = await listenFindPsk({ findPsk: lookup(new Map(), { fail: true, ms: 50 }) });
    const client = gnutlsClient(server.port, { identity: 'dev-1', key: key32(), priority: GNUTLS_TLS13 });
    try {
      const exit = await withTimeout(client.exited, 10000);
      assert.notEqual(exit, 'timeout');
      assert.notEqual(exit.code, 0);
      assert.match(client.output, /Internal error/i);
      const [outcome] = await server.settled();
      assert.equal(outcome.error?.code, 'ERR_PSK_LOOKUP');
    } finally {
      await client.stop();
      server.close();
    }
  });
});
