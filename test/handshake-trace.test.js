// traceHandshake: each handshake message, alert and ChangeCipherSpec by name, size and time,
// for the example pages' ladder diagrams: against openssl s_server through the bridge (a TLS
// 1.3 HelloRetryRequest, TLS 1.2 PSK, a wrong key), from Node and through a TLS worker, where
// the steps cross to the page as names, sizes and times only.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { connectTls, loadOpenSSL, TlsError } from '../lib/index.js';
import { createTlsWorker } from '../lib/worker/index.js';
import { messagesContainKey } from './e2e/worker-run.js';
import { pskArgs, stopPeers } from './helpers/peers.js';
import { serverBehindBridge } from './helpers/setups.js';

after(stopPeers);

const random = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const names = (steps) => steps.map((s) => `${s.direction === 'sent' ? '>' : '<'} ${s.name}`);
const STEP_FIELDS = ['direction', 'kind', 'level', 'name', 'size', 'timeMs'];

function checkShape(steps) {
  assert.ok(Array.isArray(steps) && steps.length > 0);
  let last = 0;
  for (const step of steps) {
    assert.deepEqual(
      Object.keys(step).filter((k) => !STEP_FIELDS.includes(k)),
      [],
      'names, sizes and times only',
    );
    assert.ok(Number.isInteger(step.size) && step.size > 0);
    assert.ok(step.timeMs >= last, 'in order');
    last = step.timeMs;
  }
}

/** The ClientHello, HelloRetryRequest, second ClientHello, ServerHello, …, Finished of a TLS 1.3 HRR handshake. */
function checkHrr(steps, info) {
  checkShape(steps);
  const handshake = names(steps.filter((s) => s.kind === 'handshake'));
  assert.deepEqual(
    handshake.slice(0, 6),
    ['> ClientHello', '< HelloRetryRequest', '> ClientHello', '< ServerHello', '< EncryptedExtensions', '< Finished'],
    handshake.join(', '),
  );
  assert.ok(handshake.includes('> Finished'));
  assert.ok(steps[0].size > 100, 'a ClientHello has its size');
  assert.equal(info.protocol, 'TLSv1.3');
  assert.equal(info.keyExchangeGroup, 'P-256');
}

function checkWrongKey(error) {
  assert.ok(error instanceof TlsError);
  assert.equal(error.code, 'ERR_PSK_WRONG_KEY');
  checkShape(error.handshake);
  const steps = names(error.handshake);
  assert.equal(steps[0], '> ClientHello');
  const alert = error.handshake.find((s) => s.kind === 'alert');
  assert.ok(alert, `an alert in ${steps.join(', ')}`);
  assert.equal(alert.level, 'fatal');
  return true;
}

describe('traceHandshake', () => {
  test('TLS 1.3 with a HelloRetryRequest (the server wants P-256, the client offers X25519 first)', async () => {
    const key = random(32);
    const peer = await serverBehindBridge(['-tls1_3', '-groups', 'P-256', ...pskArgs('hrr', key)]);
    try {
      const socket = connectTls(peer.url, { psk: { identity: 'hrr', key }, groups: 'X25519:P-256', traceHandshake: true });
      const info = await socket.opened;
      checkHrr(info.handshake, info);
      await socket.close();
    } finally {
      await peer.stop();
    }
  });

  test('TLS 1.2 PSK: ClientHello … ServerHelloDone, ClientKeyExchange, ChangeCipherSpec, Finished both ways', async () => {
    const key = random(32);
    const peer = await serverBehindBridge(['-tls1_2', '-cipher', 'PSK-AES128-GCM-SHA256', ...pskArgs('t12', key)]);
    try {
      const socket = connectTls(peer.url, { psk: { identity: 't12', key }, maxVersion: 'TLSv1.2', cipherList: 'PSK-AES128-GCM-SHA256', traceHandshake: true });
      const info = await socket.opened;
      checkShape(info.handshake);
      assert.deepEqual(
        names(info.handshake).filter((n) => !n.endsWith('NewSessionTicket')),
        ['> ClientHello', '< ServerHello', '< ServerHelloDone', '> ClientKeyExchange', '> ChangeCipherSpec', '> Finished', '< ChangeCipherSpec', '< Finished'],
      );
      await socket.close();
    } finally {
      await peer.stop();
    }
  });

  test('a wrong key: the TlsError carries the steps up to the failure, the alert in place', async () => {
    const key = random(32);
    const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('wrong', key)]);
    try {
      const socket = connectTls(peer.url, { psk: { identity: 'wrong', key: random(32) }, traceHandshake: true });
      await assert.rejects(socket.opened, checkWrongKey);
    } finally {
      await peer.stop();
    }
  });

  test('without the option nothing is recorded; with a ready-made context it is a typed error', async () => {
    const key = random(32);
    const peer = await serverBehindBridge(['-tls1_3', ...pskArgs('plain', key)]);
    const ossl = await loadOpenSSL();
    const context = ossl.createContext({ role: 'client' });
    try {
      const socket = connectTls(peer.url, { psk: { identity: 'plain', key } });
      assert.equal((await socket.opened).handshake, undefined);
      await socket.close();
      await assert.rejects(
        connectTls(peer.url, { context, traceHandshake: true }).opened,
        (e) => e.code === 'ERR_INVALID_ARGUMENT' && /traceHandshake/.test(e.message),
      );
    } finally {
      context.free();
      await peer.stop();
    }
  });

  test('through a TLS worker: the steps reach the page on success and failure, and no message carries the key', async () => {
    const key = random(32);
    const hrr = await serverBehindBridge(['-tls1_3', '-groups', 'P-256', ...pskArgs('w', key)]);
    const otherKey = await serverBehindBridge(['-tls1_3', ...pskArgs('w', random(32))]);
    const messages = [];
    const worker = await createTlsWorker({ tap: (data) => messages.push(data) });
    try {
      await worker.importPsk('w', key.slice().buffer);
      const socket = worker.connect(hrr.url, { identity: 'w', groups: 'X25519:P-256', traceHandshake: true });
      const info = await socket.opened;
      checkHrr(info.handshake, info);
      await socket.close();
      await assert.rejects(worker.connect(otherKey.url, { identity: 'w', traceHandshake: true }).opened, checkWrongKey);
      assert.equal(messagesContainKey(messages, key), false);
    } finally {
      worker.terminate();
      await hrr.stop();
      await otherKey.stop();
    }
  });
});
