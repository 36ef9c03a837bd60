// No copy of the key is left behind, and none is echoed: after sessionFromPem(), toPem() and
// the command line's -psk_session, once everything is freed, wasm memory holds neither the
// master key nor any piece of the PEM text; and an error about a key never shows the key.
// (A PEM held as a JavaScript string cannot be wiped: that is the caller's, and the README says so.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { connectTls, loadOpenSSL, TlsError } from '../lib/index.js';
import { sClient } from '../lib/node/s-client.js';
import { sServer } from '../lib/node/s-server.js';
import { handshake, owner, str, text, transfer, tryHandshake } from './helpers/pair.js';
import { opensslClient, opensslServer, stopPeers } from './helpers/peers.js';
import { key32, key48 } from './helpers/psk.js';
import { pskSessionFile } from './helpers/session-pem.js';

after(stopPeers);

/** Where in `instance`'s memory the key, or any 16-character piece of the PEM's base64, still is. */
function leftovers(instance, key, pem) {
  const u8 = instance.runtime.heap.u8;
  const memory = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  const keyAt = [];
  for (let at = memory.indexOf(Buffer.from(key)); at >= 0; at = memory.indexOf(Buffer.from(key), at + 1)) keyAt.push(at);
  const base64 = pem
    ? pem
        .split('\n')
        .filter((line) => line && !line.startsWith('-----'))
        .join('')
    : '';
  const pieces = [];
  for (let i = 0; i + 16 <= base64.length; i += 16) pieces.push(base64.slice(i, i + 16));
  const pemPieces = pieces.filter((piece) => memory.includes(Buffer.from(piece, 'latin1')));
  return { keyAt, pemPieces: pemPieces.length, of: pieces.length };
}

const clean = { keyAt: [], pemPieces: 0 };
const summary = ({ keyAt, pemPieces }) => ({ keyAt, pemPieces });

describe('no copy of the key is left', () => {
  test('toPem(): once the session is freed, neither the key nor the PEM text is in wasm memory', async () => {
    const instance = await loadOpenSSL();
    const key = key32();
    const session = instance.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' });
    const pem = session.toPem();
    assert.ok(leftovers(instance, key, pem).keyAt.length > 0, 'the live session holds its key');
    session.free();
    assert.deepEqual(summary(leftovers(instance, key, pem)), clean);
  });

  test('sessionFromPem() of a string and of bytes: after a handshake and free(), neither the key nor the PEM text is left', async () => {
    for (const asBytes of [false, true]) {
      const instance = await loadOpenSSL();
      const key = key48();
      const file = pskSessionFile({ key, cipherId: 0x1302 });
      const pem = readFileSync(file.path, 'utf8');
      file.cleanup();
      const parse = () => {
        const bytes = Buffer.from(pem);
        const session = asBytes ? instance.sessionFromPem(bytes, { wipe: true }) : instance.sessionFromPem(pem);
        if (asBytes)
          assert.ok(
            bytes.every((b) => b === 0),
            "wipe: the caller's bytes are overwritten",
          );
        return session;
      };
      // Right after parsing, before anything else could reuse (and so overwrite) the memory.
      parse().free();
      assert.deepEqual(summary(leftovers(instance, key, pem)), clean, `parsed and freed (${asBytes ? 'bytes' : 'string'})`);
      const session = parse();
      const cctx = instance.createContext({ role: 'client', pskUseSession: () => ({ identity: 'pem', session }) });
      const sctx = instance.createContext({ role: 'server', pskFindSession: () => session });
      const cc = cctx.createConnection();
      const sc = sctx.createConnection();
      handshake(cc, sc);
      assert.equal(cc.cipher.name, 'TLS_AES_256_GCM_SHA384');
      assert.equal(str(transfer(cc, sc, text('from a PEM'))), 'from a PEM');
      for (const o of [cc, sc, cctx, sctx, session]) o.free();
      assert.deepEqual(summary(leftovers(instance, key, pem)), clean, asBytes ? 'bytes' : 'string');
    }
  });

  test('a PEM that does not parse leaves nothing either', async () => {
    const instance = await loadOpenSSL();
    const key = key32();
    const file = pskSessionFile({ key, cipherId: 0x1301 });
    const pem = readFileSync(file.path, 'utf8');
    file.cleanup();
    const broken = pem.replace('-----END SSL SESSION PARAMETERS-----', '-----END SSL SESSION PARAMETERZ-----');
    assert.throws(() => instance.sessionFromPem(broken), { code: 'ERR_INVALID_ARGUMENT' });
    const truncated = pem.replace(/\n[^\n]*\n-----END/, '\n-----END'); // the last base64 line gone: bad DER
    assert.throws(() => instance.sessionFromPem(truncated), { code: 'ERR_INVALID_ARGUMENT' });
    assert.deepEqual(summary(leftovers(instance, key, pem)), clean);
  });

  for (const role of ['s_client', 's_server']) {
    test(`the command line's -psk_session (${role}): after the connection, neither the key nor the PEM text is left`, async () => {
      const instance = await loadOpenSSL();
      const key = key48();
      const file = pskSessionFile({ key, cipherId: 0x1302 });
      const pem = readFileSync(file.path, 'utf8');
      const args = ['-psk_session', file.path, '-psk_identity', 'dev-pem', '-quiet'];
      const stdin = new PassThrough();
      const out = [];
      const io = { stdin, stdout: { write: (d) => out.push(Buffer.from(d)) }, stderr: { write: (d) => out.push(Buffer.from(d)) } };
      if (role === 's_client') {
        const peer = await opensslServer(['-nocert', '-rev', '-tls1_3', ...args.slice(0, 4)]);
        const done = sClient(['-connect', `127.0.0.1:${peer.port}`, ...args.slice(0, 4)], io, { openssl: instance });
        stdin.write('via -psk_session\n');
        for (let i = 0; i < 200 && !Buffer.concat(out).toString().includes('noisses_ksp- aiv'); i++) await new Promise((r) => setTimeout(r, 25));
        assert.match(Buffer.concat(out).toString(), /noisses_ksp- aiv/);
        assert.ok(leftovers(instance, key).keyAt.length > 0, 'this instance holds the session while connected');
        stdin.end(); // close_notify, then exit
        assert.equal(await done, 0, Buffer.concat(out).toString());
        await peer.stop();
      } else {
        const stop = new AbortController();
        const done = sServer(['-accept', '0', '-naccept', '1', '-rev', ...args], io, { signal: stop.signal, openssl: instance });
        for (let i = 0; i < 200 && !/ACCEPT/.test(Buffer.concat(out).toString()); i++) await new Promise((r) => setTimeout(r, 25));
        const port = Number(/ACCEPT [^\n]*:(\d+)/.exec(Buffer.concat(out).toString())[1]);
        const peer = opensslClient(port, ['-tls1_3', ...args.slice(0, 4)]);
        peer.write('via -psk_session\n');
        await peer.waitFor('noisses_ksp- aiv');
        assert.ok(leftovers(instance, key).keyAt.length > 0, 'this instance holds the session while connected');
        peer.child.stdin.end();
        assert.equal(await done, 0, Buffer.concat(out).toString());
        await peer.stop();
      }
      file.cleanup();
      assert.deepEqual(summary(leftovers(instance, key, pem)), clean);
    });
  }
});

describe('no key in an error message', () => {
  const secret = 'hunter2-this-is-the-pre-shared-key-0123456789';

  /** Asserts `fn` fails with a TlsError that says the type and length but not the key. */
  async function refuses(fn, what) {
    let error;
    try {
      await fn();
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof TlsError, `${what}: ${error}`);
    assert.ok(!error.message.includes('hunter2'), `${what} echoes the key: ${error.message}`);
    assert.match(error.message, new RegExp(`string of ${secret.length} characters`), `${what}: ${error.message}`);
  }

  test('a key given as a string where bytes are expected is described by type and length only', async (t) => {
    const own = owner(t);
    const ossl = await loadOpenSSL();
    await refuses(() => ossl.createPskSession({ masterKey: secret, cipher: 'TLS_AES_128_GCM_SHA256' }), 'createPskSession');
    const session = own(ossl.createSession());
    await refuses(() => session.setMasterKey(secret), 'setMasterKey');
    await refuses(() => ossl.importSecret(secret), 'importSecret');
    const duplex = () => ({ readable: new ReadableStream(), writable: new WritableStream() });
    await refuses(() => connectTls(duplex(), { openssl: ossl, psk: { identity: 'dev', key: secret } }).opened, 'psk.key');
    await refuses(() => connectTls(duplex(), { openssl: ossl, psk: secret }).opened, 'psk');
    await refuses(() => connectTls(duplex(), { openssl: ossl, maxVersion: 'TLSv1.2', psk: { identity: 'dev', key: secret } }).opened, 'psk.key, TLS 1.2');
    // The TLS 1.2 callbacks, on both sides.
    const key = key32();
    for (const [side, client, server] of [
      ['client', secret, key],
      ['server', key, secret],
    ]) {
      const cc = own(
        own(
          ossl.createContext({ role: 'client', maxVersion: 'TLSv1.2', cipherList: 'PSK', pskClient: () => ({ identity: 'dev', psk: client }) }),
        ).createConnection(),
      );
      const sc = own(own(ossl.createContext({ role: 'server', pskServer: () => server })).createConnection());
      await refuses(() => {
        throw tryHandshake(cc, sc)[side];
      }, `the TLS 1.2 ${side} callback`);
    }
  });
});
