// pskDigestFirst: a TLS 1.3 PSK of either digest works whatever the peer lists first, because
// the client puts the PSK's suites first and the server keeps only them; and the callbacks are
// still called once per ClientHello, as OpenSSL calls them. See src/tls/psk-exchange.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadOpenSSL } from '../lib/index.js';
import { tryHandshake } from './helpers/pair.js';
import { freeAll, key32, key48 } from './helpers/psk.js';

const ossl = await loadOpenSSL();
const SHA384_SUITE = 'TLS_AES_256_GCM_SHA384';

function run({ cipher = SHA384_SUITE, client = {}, server = {} }) {
  const session = ossl.createPskSession({ masterKey: cipher === SHA384_SUITE ? key48() : key32(), cipher });
  const calls = { useSession: [], findSession: 0 };
  const cctx = ossl.createContext({
    role: 'client',
    pskUseSession: (c, md) => (calls.useSession.push(md?.name ?? null), { identity: 'dev', session }),
    ...client,
  });
  const sctx = ossl.createContext({ role: 'server', pskFindSession: () => (calls.findSession++, session), ...server });
  const cc = cctx.createConnection();
  const sc = sctx.createConnection();
  try {
    const result = tryHandshake(cc, sc);
    return { ...result, calls, cipher: cc.cipher?.name, reused: cc.sessionReused };
  } finally {
    freeAll(cc, sc, cctx, sctx, session);
  }
}

test('a SHA-384 PSK works with default suites on both sides (ChaCha20 first on the client)', () => {
  const r = run({});
  assert.equal(r.client, null);
  assert.equal(r.cipher, SHA384_SUITE);
  assert.equal(r.reused, true);
  assert.deepEqual(r.calls, { useSession: [null], findSession: 1 }, 'each callback called once, as OpenSSL would');
});

test('the client alone puts the SHA-384 suite first (server with OpenSSL behaviour)', () => {
  const r = run({ server: { pskDigestFirst: false } });
  assert.equal(r.cipher, SHA384_SUITE);
  assert.equal(r.reused, true);
});

test('the server alone keeps only the SHA-384 suite (client with OpenSSL behaviour)', () => {
  const r = run({ client: { pskDigestFirst: false } });
  assert.equal(r.cipher, SHA384_SUITE);
  assert.equal(r.reused, true);
  assert.deepEqual(r.calls, { useSession: [null], findSession: 1 });
});

test('without it on either side, OpenSSL 1.1.1 drops the PSK, and the errors say why', () => {
  const r = run({ client: { pskDigestFirst: false }, server: { pskDigestFirst: false } });
  assert.equal(r.server?.code, 'ERR_PSK_DIGEST_MISMATCH');
  assert.match(r.server.message, /uses SHA384, but the suite already chosen, TLS_CHACHA20_POLY1305_SHA256, uses SHA256/);
  assert.equal(r.client?.code, 'ERR_PSK_DIGEST_MISMATCH');
  assert.match(r.client.message, /probably because the client offered a SHA384 PSK but lists TLS_CHACHA20_POLY1305_SHA256 \(SHA256\) first/);
});

test('a client that offers no suite of the PSK digest cannot be helped: a clear error', () => {
  const r = run({ client: { ciphersuites: 'TLS_AES_128_GCM_SHA256' } });
  assert.equal(r.server?.code, 'ERR_PSK_DIGEST_MISMATCH');
  assert.ok(r.client);
});

test("after a HelloRetryRequest the callbacks still see OpenSSL's sequence: md null, then the digest", () => {
  const r = run({ client: { groups: ['X25519', 'P-256'] }, server: { groups: ['P-256'] } });
  assert.equal(r.client, null);
  assert.deepEqual(r.calls.useSession, [null, 'SHA384']);
  assert.equal(r.calls.findSession, 2, 'once per ClientHello');
  assert.equal(r.cipher, SHA384_SUITE);
});

test('a SHA-256 PSK against a client listing TLS_AES_256_GCM_SHA384 first', () => {
  const r = run({ cipher: 'TLS_AES_128_GCM_SHA256', client: { ciphersuites: [SHA384_SUITE, 'TLS_AES_128_GCM_SHA256'], pskDigestFirst: false } });
  assert.equal(r.client, null);
  assert.equal(r.cipher, 'TLS_AES_128_GCM_SHA256');
});
