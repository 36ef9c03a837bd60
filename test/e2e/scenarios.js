// The end-to-end table: one row per scenario, run from a web page by the Playwright tests
// (test/e2e/browser.spec.js) and from Node by test/socket.test.js, against the same real
// servers and bridges, started here on loopback and stopped after each scenario.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { startBridge } from '../../lib/node/bridge.js';
import { gnutlsServer, nodeTlsEchoServer, opensslServer, pskArgs, websockify } from '../helpers/peers.js';
import { pskSessionFile } from '../helpers/session-pem.js';

const GNUTLS_TLS13 = 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK:+DHE-PSK';
const GNUTLS_TLS12 = 'NORMAL:-VERS-ALL:+VERS-TLS1.2:+PSK:+ECDHE-PSK:+DHE-PSK';
const TLS12 = { maxVersion: 'TLSv1.2' };
const lines = (bytes) => ({ kind: 'lines', bytes, seed: bytes });

export const SCENARIOS = [
  {
    name: 'TLS 1.3 PSK to openssl s_server through our bridge',
    server: 'openssl-tls13',
    bridge: 'ours',
    payload: lines(4000),
    answer: 'reversed-lines',
    info: { protocol: 'TLSv1.3', sessionReused: true },
  },
  {
    name: 'TLS 1.3 PSK to openssl s_server through websockify',
    server: 'openssl-tls13',
    bridge: 'websockify',
    payload: lines(4000),
    answer: 'reversed-lines',
    info: { protocol: 'TLSv1.3', sessionReused: true },
  },
  {
    name: 'TLS 1.2 PSK to openssl s_server through our bridge',
    server: 'openssl-tls12',
    bridge: 'ours',
    options: TLS12,
    payload: lines(4000),
    answer: 'reversed-lines',
    info: { protocol: 'TLSv1.2', cipher: 'ECDHE-PSK-CHACHA20-POLY1305' },
  },
  {
    name: 'TLS 1.2 PSK to openssl s_server through websockify',
    server: 'openssl-tls12',
    bridge: 'websockify',
    options: TLS12,
    payload: lines(4000),
    answer: 'reversed-lines',
    info: { protocol: 'TLSv1.2' },
  },
  {
    name: 'TLS 1.3 PSK to gnutls-serv through our bridge',
    server: 'gnutls-tls13',
    bridge: 'ours',
    payload: lines(4000),
    info: { protocol: 'TLSv1.3', sessionReused: true },
  },
  { name: 'TLS 1.3 PSK to gnutls-serv through websockify', server: 'gnutls-tls13', bridge: 'websockify', payload: lines(4000), info: { protocol: 'TLSv1.3' } },
  {
    name: 'TLS 1.2 PSK to gnutls-serv through our bridge',
    server: 'gnutls-tls12',
    bridge: 'ours',
    options: TLS12,
    payload: lines(4000),
    info: { protocol: 'TLSv1.2' },
  },
  {
    name: 'TLS 1.2 PSK to gnutls-serv through websockify',
    server: 'gnutls-tls12',
    bridge: 'websockify',
    options: TLS12,
    payload: lines(4000),
    info: { protocol: 'TLSv1.2' },
  },
  {
    name: 'SHA-384 PSK to openssl s_server -psk_session',
    server: 'openssl-sha384',
    bridge: 'ours',
    cipher: 'TLS_AES_256_GCM_SHA384',
    payload: lines(2000),
    answer: 'reversed-lines',
    info: { cipher: 'TLS_AES_256_GCM_SHA384', sessionReused: true },
  },
  {
    name: 'early data accepted by openssl s_server -early_data',
    server: 'openssl-early',
    bridge: 'ours',
    cipher: 'TLS_AES_256_GCM_SHA384',
    earlyData: 'EARLY-E2E-0RTT\n',
    payload: { kind: 'text', text: 'after-the-handshake\n' },
    answer: 'none',
    info: { earlyDataAccepted: true },
    serverPrints: ['EARLY-E2E-0RTT', 'after-the-handshake'],
  },
  {
    name: '1 MiB echoed byte for byte (Node tls server, our bridge)',
    server: 'node-tls',
    bridge: 'ours',
    payload: { kind: 'binary', bytes: 1 << 20, seed: 7 },
  },
  { name: '1 MiB echoed byte for byte through websockify', server: 'node-tls', bridge: 'websockify', payload: { kind: 'binary', bytes: 1 << 20, seed: 9 } },
  { name: 'wrong key, TLS 1.3: a typed error', server: 'openssl-tls13', bridge: 'ours', wrongKey: true, payload: lines(10), error: 'ERR_PSK_WRONG_KEY' },
  {
    name: 'wrong key, TLS 1.2: a typed error',
    server: 'gnutls-tls12',
    bridge: 'websockify',
    options: TLS12,
    wrongKey: true,
    payload: lines(10),
    error: 'ERR_PSK_WRONG_KEY',
  },
  {
    name: 'a target the bridge does not allow: ERR_BRIDGE_REFUSED',
    server: 'node-tls',
    bridge: 'ours',
    target: 'not-allowed',
    payload: lines(10),
    error: 'ERR_BRIDGE_REFUSED',
  },
];

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));

/** Starts the scenario's server and bridge. Returns what the client needs, and stop(). */
export async function startScenario(scenario) {
  const identity = 'e2e-client';
  const key = random(scenario.cipher === 'TLS_AES_256_GCM_SHA384' ? 48 : 32);
  const stops = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    const server = await startServer(scenario.server, identity, key, stops);
    const target = `127.0.0.1:${server.port}`;
    let url;
    if (scenario.bridge === 'websockify') {
      const bridge = await websockify(server.port);
      stops.push(() => bridge.stop());
      url = bridge.url;
    } else {
      const bridge = await startBridge({ allow: [target] });
      stops.push(() => bridge.close());
      url = `${bridge.url}/${scenario.target === 'not-allowed' ? '127.0.0.1:1' : target}`;
    }
    return {
      server,
      stop,
      client: {
        url,
        psk: { identity, keyHex: hex(scenario.wrongKey ? random(key.length) : key), ...(scenario.cipher ? { cipher: scenario.cipher } : {}) },
        options: scenario.options ?? {},
        payload: scenario.payload,
        answer: scenario.answer ?? 'echo',
        ...(scenario.earlyData ? { earlyData: scenario.earlyData } : {}),
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startServer(kind, identity, key, stops) {
  const keep = (peer, extra) => {
    stops.push(async () => {
      await peer.stop();
      extra?.();
    });
    return peer;
  };
  switch (kind) {
    case 'openssl-tls13':
      return keep(await opensslServer(['-nocert', '-tls1_3', ...pskArgs(identity, key), '-rev']));
    case 'openssl-tls12':
      return keep(
        await opensslServer([
          '-nocert',
          '-tls1_2',
          ...pskArgs(identity, key),
          '-psk_hint',
          'e2e-hint',
          '-cipher',
          'ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256',
          '-rev',
        ]),
      );
    case 'openssl-sha384':
    case 'openssl-early': {
      const early = kind === 'openssl-early';
      const file = pskSessionFile({ key, cipherId: 0x1302, maxEarlyData: early ? 16384 : 0 });
      const args = ['-nocert', '-tls1_3', '-psk_session', file.path, '-psk_identity', identity, ...(early ? ['-early_data'] : ['-rev'])];
      return keep(await opensslServer(args), file.cleanup);
    }
    case 'gnutls-tls13':
    case 'gnutls-tls12':
      return keep(await gnutlsServer({ users: new Map([[identity, key]]), priority: kind === 'gnutls-tls13' ? GNUTLS_TLS13 : GNUTLS_TLS12 }));
    case 'node-tls': {
      const server = await nodeTlsEchoServer({ identity, key });
      stops.push(() => server.stop());
      return server;
    }
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

/** The checks every runner makes on a scenario's outcome. */
export async function checkOutcome(scenario, result, server) {
  if (scenario.error) {
    assert.equal(result.error?.code, scenario.error, JSON.stringify(result));
    assert.equal(result.error?.name, 'TlsError');
    return;
  }
  assert.equal(result.error, undefined, JSON.stringify(result.error));
  for (const [field, value] of Object.entries(scenario.info ?? {})) assert.equal(result.info[field], value, field);
  assert.equal(result.mismatchAt, -1, `first wrong byte at ${result.mismatchAt} of ${result.expected}`);
  assert.equal(result.received, result.expected);
  for (const text of scenario.serverPrints ?? []) await server.waitFor(text, { timeoutMs: 5000 });
}
