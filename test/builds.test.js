// The two builds of the module behind one API: `openssl-psk-wasm` loads the PSK build (no
// certificates), `openssl-psk-wasm/full` the full build. What each has, what the PSK build
// refuses and how it says so, and that each entry point loads only its own .wasm.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { KINDS, createPair, handshake, owner, str, text, transfer, tryHandshake } from './helpers/pair.js';
import { testPki } from './helpers/pki.js';
import * as psk from '../lib/index.js';
import * as full from '../lib/full.js';

const pskSsl = await psk.loadOpenSSL();
const fullSsl = await full.loadOpenSSL();
const info = (name) => JSON.parse(readFileSync(new URL(`../wasm/dist/${name}`, import.meta.url), 'utf8'));

describe('the PSK build (openssl-psk-wasm)', () => {
  for (const [option, role] of [
    ['certificate', 'server'],
    ['privateKey', 'server'],
    ['ca', 'client'],
  ]) {
    test(`createContext({ ${option} }) throws ERR_FULL_BUILD_REQUIRED, saying to import openssl-psk-wasm/full`, () => {
      const pki = testPki();
      const pem = { certificate: pki.certificate, privateKey: pki.privateKey, ca: pki.ca }[option];
      assert.throws(
        () => pskSsl.createContext({ role, [option]: pem }),
        (e) => {
          assert.ok(e instanceof psk.TlsError);
          assert.equal(e.code, 'ERR_FULL_BUILD_REQUIRED');
          assert.match(e.message, new RegExp(`\`${option}\` needs certificates.*import from 'openssl-psk-wasm/full'`));
          return true;
        },
      );
    });
  }

  test('connectTls() with a certificate option fails its socket with ERR_FULL_BUILD_REQUIRED', async () => {
    const pki = testPki();
    const socket = psk.connectTls({ readable: new ReadableStream(), writable: new WritableStream() }, { ca: pki.ca });
    await assert.rejects(socket.opened, (e) => e.code === 'ERR_FULL_BUILD_REQUIRED');
    await socket.closed.catch(() => {});
  });

  for (const kind of KINDS) {
    test(`${kind}: a handshake and a record both ways`, (t) => {
      const own = owner(t);
      const p = own(createPair(pskSsl, kind, { key: new Uint8Array(32).fill(7), identity: 'dev' }));
      const cc = own(p.client.createConnection());
      const sc = own(p.server.createConnection());
      handshake(cc, sc);
      assert.equal(str(transfer(cc, sc, text('ping'))), 'ping');
      assert.equal(str(transfer(sc, cc, text('pong'))), 'pong');
    });
  }

  test('the groups: X25519, P-256, P-384 and P-521 (psk_dhe_ke; TLS 1.2 ECDHE-PSK), DHE-PSK; X448 is the full build only', (t) => {
    const own = owner(t);
    const session = own(pskSsl.createPskSession({ masterKey: new Uint8Array(32).fill(9), cipher: 'TLS_AES_128_GCM_SHA256' }));
    for (const group of ['X25519', 'P-256', 'P-384', 'P-521']) {
      const cctx = own(pskSsl.createContext({ role: 'client', groups: [group], pskUseSession: () => ({ identity: 'dev', session }) }));
      const sctx = own(pskSsl.createContext({ role: 'server', groups: [group], pskFindSession: () => session }));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      assert.equal(cc.keyExchangeGroup, group);
    }
    for (const [cipherList, group] of [
      ['ECDHE-PSK-AES128-CBC-SHA256', 'P-384'],
      ['DHE-PSK-AES128-GCM-SHA256', null],
    ]) {
      const psk12 = { maxVersion: 'TLSv1.2', cipherList, ...(group ? { groups: [group] } : {}) };
      const cctx = own(pskSsl.createContext({ role: 'client', ...psk12, pskClient: () => ({ identity: 'dev', psk: new Uint8Array(32).fill(4) }) }));
      const sctx = own(pskSsl.createContext({ role: 'server', ...psk12, pskServer: () => new Uint8Array(32).fill(4) }));
      const cc = own(cctx.createConnection());
      const sc = own(sctx.createConnection());
      handshake(cc, sc);
      assert.equal(cc.cipher.name, cipherList);
      assert.equal(cc.keyExchangeGroup, group ?? 'DH');
    }
    assert.throws(
      () => pskSsl.createContext({ role: 'client', groups: ['X448'] }),
      (e) => e.code === 'ERR_CONFIG',
    );
    own(fullSsl.createContext({ role: 'client', groups: ['X448'] }));
  });

  test('a PSK client meeting a certificate (an unknown identity on a full-build server) fails the handshake with a TlsError', (t) => {
    const own = owner(t);
    const pki = testPki();
    const pskSession = own(pskSsl.createPskSession({ masterKey: new Uint8Array(32).fill(3), cipher: 'TLS_AES_128_GCM_SHA256' }));
    const cctx = own(pskSsl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'dev', session: pskSession }) }));
    const sctx = own(fullSsl.createContext({ role: 'server', certificate: pki.certificate, privateKey: pki.privateKey, pskFindSession: () => null }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    // Two instances: move the bytes by hand (the pair harness does exactly this).
    const r = tryHandshake(cc, sc);
    assert.ok(r.client instanceof psk.TlsError, String(r.client));
    assert.ok(r.client.openssl.length > 0, 'the reason, from OpenSSL, as text');
  });

  test("a PEM session carrying the server's certificate (from a full-build client) reads and writes back unchanged", (t) => {
    const own = owner(t);
    const pki = testPki();
    const tls12 = { maxVersion: 'TLSv1.2', cipherList: 'ECDHE-ECDSA-AES128-GCM-SHA256' };
    const cctx = own(fullSsl.createContext({ role: 'client', ca: pki.ca, ...tls12 }));
    const sctx = own(fullSsl.createContext({ role: 'server', certificate: pki.certificate, privateKey: pki.privateKey, ...tls12 }));
    const cc = own(cctx.createConnection({ serverName: 'localhost' }));
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    const pem = own(cc.getSession()).toPem();
    // The session's DER holds the certificate's DER (the peer field reaches X.509's ASN.1 and its OIDs).
    const der = (p) => Buffer.from(p.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    assert.ok(der(pem).includes(der(pki.certificate)), 'the session carries the certificate');
    assert.equal(own(pskSsl.sessionFromPem(pem)).toPem(), pem);
  });

  test("OpenSSL's error strings are there: a wrong PSK fails with SSL routines' reasons as text", (t) => {
    const own = owner(t);
    const psk12 = { maxVersion: 'TLSv1.2', cipherList: 'PSK-AES128-GCM-SHA256' };
    const cctx = own(pskSsl.createContext({ role: 'client', ...psk12, pskClient: () => ({ identity: 'dev', psk: new Uint8Array(32).fill(4) }) }));
    const sctx = own(pskSsl.createContext({ role: 'server', ...psk12, pskServer: () => new Uint8Array(32).fill(5) }));
    const cc = own(cctx.createConnection());
    const sc = own(sctx.createConnection());
    const r = tryHandshake(cc, sc);
    assert.ok(r.server instanceof psk.TlsError, String(r.server));
    const lines = r.server.openssl.join('\n');
    assert.match(lines, /SSL routines/);
    assert.match(lines, /decryption failed or bad record mac|bad record mac|decrypt/);
    assert.doesNotMatch(lines, /reason\(\d+\)|func\(\d+\)/);
  });

  test("loading the full build's .wasm through openssl-psk-wasm fails with ERR_WASM_LOAD", async () => {
    await assert.rejects(psk.loadOpenSSL({ wasmUrl: new URL('../dist/browser/openssl-psk-full.wasm', import.meta.url) }), (e) => e.code === 'ERR_WASM_LOAD');
    await assert.rejects(full.loadOpenSSL({ wasmUrl: new URL('../dist/browser/openssl-psk.wasm', import.meta.url) }), (e) => e.code === 'ERR_WASM_LOAD');
  });

  test('build-info.json describes the PSK build, build-info-full.json the full one, and the PSK build is the smaller', () => {
    const pskInfo = info('build-info.json');
    const fullInfo = info('build-info-full.json');
    assert.equal(pskInfo.build, 'psk');
    assert.equal(fullInfo.build, 'full');
    assert.equal(pskInfo.wasm.file, 'openssl-psk.wasm');
    assert.equal(fullInfo.wasm.file, 'openssl-psk-full.wasm');
    assert.ok(pskInfo.wasm.gzip9Bytes < fullInfo.wasm.gzip9Bytes, `${pskInfo.wasm.gzip9Bytes} < ${fullInfo.wasm.gzip9Bytes}`);
    assert.ok(pskInfo.opensslCflags.includes('-DOPW_PSK_NO_CERTS'));
    assert.deepEqual(fullInfo.opensslCflags, []);
  });
});

describe('the full build (openssl-psk-wasm/full)', () => {
  test('the same API: every export of openssl-psk-wasm, with loadOpenSSL, compileOpenSSL, connectTls and acceptTls of its own', () => {
    assert.deepEqual(Object.keys(full).sort(), Object.keys(psk).sort());
    for (const name of ['loadOpenSSL', 'compileOpenSSL', 'connectTls', 'acceptTls']) assert.notEqual(full[name], psk[name], name);
    for (const name of ['TlsError', 'OpenSSL', 'SslContext', 'TlsSocket', 'SecretKey']) assert.equal(full[name], psk[name], name);
  });

  test('a certificate-authenticated TLS 1.3 handshake, verified against the CA', (t) => {
    const own = owner(t);
    const pki = testPki();
    const cctx = own(fullSsl.createContext({ role: 'client', ca: pki.ca }));
    const sctx = own(fullSsl.createContext({ role: 'server', certificate: pki.certificate, privateKey: pki.privateKey }));
    const cc = own(cctx.createConnection({ serverName: 'localhost' }));
    const sc = own(sctx.createConnection());
    handshake(cc, sc);
    assert.equal(cc.protocol, 'TLSv1.3');
    assert.equal(str(transfer(cc, sc, text('certified'))), 'certified');
  });
});
