// The MQTT example: MQTT.js (its browser build, /vendor/mqtt.esm.js) over the TLS worker's
// sockets with mqttStreamBuilder(); the page keeps no key after importPsk().
import mqtt from '/vendor/mqtt.esm.js';
import { mqttStreamBuilder } from '/lib/mqtt.js';
import { createTlsWorker } from '/lib/worker.js';
import { drawWhenOpened } from '/ladder.js';
import { appendLine, fromHex } from '/ui.js';

const $ = (id) => document.getElementById(id);
const log = (line, error = false) => appendLine($('log'), line, error);

const worker = await createTlsWorker();
let client = null;

async function connect({ url, identity, keyHex }) {
  await worker.importPsk(identity, fromHex(keyHex).buffer); // transferred: the page keeps no copy
  $('key').value = '';
  client?.end(true);
  client = new mqtt.MqttClient(
    mqttStreamBuilder(() =>
      drawWhenOpened($('ladder'), worker.connect(url, { identity, traceHandshake: true }), { identity, title: 'TLS connection to the broker' }),
    ),
    { clientId: `page-${Math.random().toString(16).slice(2, 10)}`, reconnectPeriod: 1000 },
  );
  client.on('error', (e) => log(`${e.code ?? e.name}: ${e.message}`, true));
  client.on('close', () => log('connection closed (MQTT.js reconnects)'));
  client.on('message', (topic, payload, packet) => log(`< ${topic} (QoS ${packet.qos}): ${new TextDecoder().decode(payload)}`));
  await new Promise((resolve) => client.once('connect', resolve));
  log('connected to the broker over TLS-PSK');
  await client.subscribeAsync('demo/#', { qos: 2 });
  $('publishButton').disabled = false;
  return client;
}

async function publish(topic, message, qos) {
  await client.publishAsync(topic, message, { qos });
  log(`> ${topic} (QoS ${qos}): ${message}`);
}

const config = await (await fetch('/mqtt/config.json')).json();
$('url').value = config.url;
$('identity').value = config.identity;
$('key').value = config.keyHex;
$('connect').onsubmit = (event) => {
  event.preventDefault();
  connect({ url: $('url').value, identity: $('identity').value, keyHex: $('key').value }).catch((e) => log(`${e.code ?? e.name}: ${e.message}`, true));
};
$('publish').onsubmit = (event) => {
  event.preventDefault();
  publish($('topic').value, $('message').value, Number($('qos').value)).catch((e) => log(`${e.code ?? e.name}: ${e.message}`, true));
};

// ?auto=1: one scripted run for `npm start` and the tests; the outcome goes in #result.
if (new URLSearchParams(location.search).has('auto')) {
  const result = $('result');
  try {
    await connect(config);
    const received = new Promise((resolve) =>
      client.once('message', (topic, payload, packet) => resolve({ topic, text: new TextDecoder().decode(payload), qos: packet.qos })),
    );
    await publish('demo/kitchen/temp', `hello from the page`, 2);
    result.textContent = JSON.stringify({ ok: true, message: await received });
    client.end();
  } catch (e) {
    result.textContent = JSON.stringify({ ok: false, error: `${e.code ?? e.name}: ${e.message}` });
  }
  result.dataset.done = '1';
}
