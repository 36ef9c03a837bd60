// MQTT with the MQTT.js client (the mqtt package) over TLS-PSK sockets, through the bridge to a
// mosquitto with psk_file: in Node with the engine in the process and through the TLS worker
// (the page-side runs are in test/e2e/). Connect, subscribe, QoS 0/1/2, a native mosquitto_sub
// receiving what the client publishes, reconnection after the broker restarts, a wrong key,
// a connect() that throws.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { TlsError, connectTls } from '../lib/index.js';
import { mqttStreamBuilder, socketDuplex } from '../lib/mqtt/index.js';
import { startBridge } from '../lib/node/bridge.js';
import { createTlsWorker } from '../lib/worker/index.js';
import { runMqtt } from './e2e/mqtt-run.js';
import { checkMqttRun, mqttSetup } from './helpers/mqtt.js';
import { nodeTlsServer, stopPeers } from './helpers/peers.js';

after(stopPeers);

const key32 = () => webcrypto.getRandomValues(new Uint8Array(32));

describe('MQTT.js over TLS-PSK to mosquitto (psk_file) through the bridge', { timeout: 90_000 }, () => {
  test('engine in the process: QoS 0/1/2, a native subscriber receives, reconnection after the broker restarts', async () => {
    const setup = await mqttSetup('node');
    try {
      const builder = mqttStreamBuilder(() => connectTls(setup.url, { psk: { identity: 'client-1', key: setup.clientKey } }));
      checkMqttRun(await setup.runWithRestart(() => runMqtt(mqtt.MqttClient, builder, { topic: 'node', clientId: 'node-1' })));
    } finally {
      await setup.stop();
    }
  });

  test('through the TLS worker (the key stays there): the same, reconnection included', async () => {
    const setup = await mqttSetup('worker');
    const worker = await createTlsWorker();
    try {
      await worker.importPsk('client-1', setup.clientKey.slice().buffer);
      const builder = mqttStreamBuilder(() => worker.connect(setup.url, { identity: 'client-1' }));
      checkMqttRun(await setup.runWithRestart(() => runMqtt(mqtt.MqttClient, builder, { topic: 'worker', clientId: 'worker-1' })));
    } finally {
      worker.terminate();
      await setup.stop();
    }
  });

  test('a wrong key: the client reports the typed TLS error and never connects; a connect() that throws is reported too', async () => {
    const setup = await mqttSetup('wrong');
    try {
      for (const [builder, expected] of [
        [mqttStreamBuilder(() => connectTls(setup.url, { psk: { identity: 'client-1', key: key32() } })), /^ERR_PSK_WRONG_KEY$|^ERR_PSK_UNKNOWN_IDENTITY$/],
        [
          mqttStreamBuilder(() => {
            throw new TypeError('no socket today');
          }),
          /^ERR_TRANSPORT$/,
        ],
      ]) {
        const client = new mqtt.MqttClient(builder, { clientId: 'wrong-1', reconnectPeriod: 0 });
        const errors = [];
        let connected = false;
        client.on('error', (e) => errors.push(e));
        client.on('connect', () => (connected = true));
        await new Promise((resolve) => client.once('close', resolve));
        await client.endAsync();
        assert.equal(connected, false);
        assert.equal(errors.length, 1, errors.map(String).join('; '));
        assert.ok(errors[0] instanceof TlsError);
        assert.match(errors[0].code, expected);
      }
    } finally {
      await setup.stop();
    }
  });

  test("socketDuplex: destroy() is not the peer's end (no 'end'), and 'close' comes at once even when the peer is gone", async () => {
    const key = key32();
    // A peer that completes the handshake, then never answers anything again (no close_notify).
    const silent = await nodeTlsServer({ identity: 'silent', key }, (socket) => socket.on('data', () => {}));
    const bridge = await startBridge({ allow: [`127.0.0.1:${silent.port}`] });
    try {
      const socket = connectTls(`${bridge.url}/127.0.0.1:${silent.port}`, { psk: { identity: 'silent', key }, closeTimeoutMs: 3000 });
      await socket.opened;
      const duplex = socketDuplex(socket);
      const events = [];
      duplex.on('data', () => events.push('data'));
      duplex.on('end', () => events.push('end'));
      duplex.on('error', () => events.push('error'));
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      duplex.destroy();
      await new Promise((resolve) => duplex.once('close', resolve));
      assert.ok(Date.now() - started < 500, `closed after ${Date.now() - started} ms`);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(events, []);
    } finally {
      await bridge.close();
      await silent.stop();
    }
  });

  test('mqttStreamBuilder() without a function is a typed ERR_INVALID_ARGUMENT', () => {
    assert.throws(
      () => mqttStreamBuilder('ws://x'),
      (e) => e.code === 'ERR_INVALID_ARGUMENT',
    );
  });
});
