// Publishes one MQTT message to a TLS-PSK broker (e.g. mosquitto with psk_file) through the
// WebSocket bridge, the way a browser would reach it:
//   npx openssl-psk-wasm bridge --listen 127.0.0.1:8080 --allow 127.0.0.1:8883 &
//   node examples/mqtt/publish.mjs ws://127.0.0.1:8080/127.0.0.1:8883 IDENTITY HEXKEY TOPIC MESSAGE
import { connectTls } from 'openssl-psk-wasm';
import { MqttClient } from './mqtt.js';

const [url, identity, hexKey, topic, message] = process.argv.slice(2);
if (!url?.startsWith('ws') || !identity || !/^([0-9a-f]{2})+$/i.test(hexKey ?? '') || !topic || message === undefined) {
  console.error('usage: node examples/mqtt/publish.mjs ws://BRIDGE/HOST:PORT IDENTITY HEXKEY TOPIC MESSAGE');
  process.exit(2);
}

try {
  const tls = connectTls(url, { psk: { identity, key: Buffer.from(hexKey, 'hex') } });
  const mqtt = await MqttClient.connect(tls, { clientId: `opw-${identity}` });
  const info = await tls.opened;
  await mqtt.publish(topic, message, { qos: 1 });
  console.log(`published to ${topic} (${info.protocol} ${info.cipher}), acknowledged by the broker`);
  await mqtt.disconnect();
} catch (error) {
  console.error(`${error.code ?? error.name}: ${error.message}`);
  process.exitCode = 1;
}
