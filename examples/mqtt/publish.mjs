// Publishes one MQTT message to a TLS-PSK broker (e.g. mosquitto with psk_file) through the
// WebSocket bridge, the way a browser would reach it, with the MQTT.js client (npm i mqtt):
//   npx openssl-psk-wasm bridge --listen 127.0.0.1:8080 --allow 127.0.0.1:8883 &
//   node examples/mqtt/publish.mjs ws://127.0.0.1:8080/127.0.0.1:8883 IDENTITY HEXKEY TOPIC MESSAGE
import { MqttClient } from 'mqtt';
import { connectTls } from 'openssl-psk-wasm';
import { mqttStreamBuilder } from 'openssl-psk-wasm/mqtt';

const [url, identity, hexKey, topic, message] = process.argv.slice(2);
if (!url?.startsWith('ws') || !identity || !/^([0-9a-f]{2})+$/i.test(hexKey ?? '') || !topic || message === undefined) {
  console.error('usage: node examples/mqtt/publish.mjs ws://BRIDGE/HOST:PORT IDENTITY HEXKEY TOPIC MESSAGE');
  process.exit(2);
}

let tls;
const client = new MqttClient(
  mqttStreamBuilder(() => (tls = connectTls(url, { psk: { identity, key: Buffer.from(hexKey, 'hex') } }))),
  { clientId: `opw-${identity}`, reconnectPeriod: 0 },
);
try {
  await new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    client.once('close', () => reject(new Error('the broker closed the connection')));
  });
  const info = await tls.opened;
  await client.publishAsync(topic, message, { qos: 1 });
  console.log(`published to ${topic} (${info.protocol} ${info.cipher}), acknowledged by the broker`);
} catch (error) {
  console.error(`${error.code ?? error.name}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await client.endAsync();
}
