// MQTT test set-up shared by Node (test/mqtt.test.js) and the browser engines (test/e2e/):
// mosquitto with psk_file behind the bridge, a native mosquitto_sub, a broker restart, and the
// checks of a run of test/e2e/mqtt-run.js.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { startBridge } from '../../lib/node/bridge.js';
import { mosquittoBroker, startPeer } from './peers.js';

const key32 = () => webcrypto.getRandomValues(new Uint8Array(32));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

/**
 * A broker (users: client-1, native-sub), the bridge, and a native mosquitto_sub on
 * `${topic}/native`. `runWithRestart(run)` restarts the broker once the subscriber sees the
 * client's `ready`, while `run()` goes on.
 */
export async function mqttSetup(topic) {
  const clientKey = key32();
  const subKey = key32();
  const users = new Map([
    ['client-1', clientKey],
    ['native-sub', subKey],
  ]);
  let broker = await mosquittoBroker({ users });
  const port = broker.port;
  const bridge = await startBridge({ allow: [`127.0.0.1:${port}`] });
  // stdbuf: mosquitto_sub's stdout is a pipe here, which stdio would buffer.
  const sub = startPeer('mosquitto_sub', 'stdbuf', [
    '-oL',
    'mosquitto_sub',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--psk',
    hex(subKey),
    '--psk-identity',
    'native-sub',
    '-t',
    `${topic}/native`,
    '-v',
    '-d',
  ]);
  await sub.waitFor('received SUBACK');
  return {
    url: `${bridge.url}/127.0.0.1:${port}`,
    clientKey,
    async runWithRestart(run) {
      const running = run();
      const seen = sub.waitFor(`${topic}/native ready`, { timeoutMs: 20_000 }).then(
        () => true,
        () => false,
      );
      if (
        !(await Promise.race([
          seen,
          running.then(
            () => false,
            () => false,
          ),
        ])) ||
        !(await seen)
      ) {
        // The client's own account of what went wrong (its steps are bounded by timeouts).
        throw new Error(`the native subscriber never received "ready": ${JSON.stringify(await running)}`);
      }
      await broker.stop();
      broker = await mosquittoBroker({ users, port });
      return running;
    },
    async stop() {
      await sub.stop();
      await bridge.close();
      await broker.stop();
    },
  };
}

export function checkMqttRun(out) {
  assert.equal(out.error, undefined, JSON.stringify(out));
  const byTopic = Object.fromEntries(out.received.map((m) => [m.topic.split('/').pop(), m]));
  assert.deepEqual([byTopic.q0?.text, byTopic.q1?.text, byTopic.q2?.text], ['at QoS 0', 'at QoS 1', 'at QoS 2']);
  assert.deepEqual([byTopic.q0.qos, byTopic.q1.qos, byTopic.q2.qos], [0, 1, 2], 'each delivered at the QoS it was published with');
  assert.equal(byTopic.after?.text, 'after the restart');
  assert.equal(out.connects, 2, 'connected, then connected again after the restart');
  assert.equal(out.endError, undefined);
}
