// MQTT.js over a TLS-PSK socket, the same steps in Node and in a page (engine in the page or
// the TLS worker's sockets): connect, subscribe, publish at QoS 0, 1 and 2 and receive each,
// publish for a native subscriber, then ride out a broker restart (the caller restarts the
// broker once it sees `ready`) and publish again. Plain JavaScript; JSON-serialisable results.

const within = (ms, what, promise) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))]);

/**
 * `MqttClient` from the mqtt package, `builder` from mqttStreamBuilder(); `topic` a prefix of
 * this run's own. Resolves with what was received and the errors the client reported.
 */
export async function runMqtt(MqttClient, builder, { topic, clientId, restart = true, options = {} }) {
  const out = { received: [], errors: [], connects: 0 };
  const client = new MqttClient(builder, { clientId, protocolVersion: 4, reconnectPeriod: 300, connectTimeout: 10_000, ...options });
  client.on('connect', () => out.connects++);
  client.on('error', (error) => out.errors.push(error.code ?? error.message));
  client.on('message', (t, payload, packet) => out.received.push({ topic: t, text: new TextDecoder().decode(payload), qos: packet.qos }));
  const arrived = (count) =>
    within(
      10_000,
      `${count} messages`,
      (async () => {
        while (out.received.length < count) await new Promise((r) => setTimeout(r, 20));
      })(),
    );
  try {
    await within(15_000, 'connection', new Promise((resolve) => client.once('connect', resolve)));
    await client.subscribeAsync(`${topic}/echo/#`, { qos: 2 });
    for (const qos of [0, 1, 2]) await client.publishAsync(`${topic}/echo/q${qos}`, `at QoS ${qos}`, { qos });
    await arrived(3);
    await client.publishAsync(`${topic}/native`, 'ready', { qos: 1 });
    if (restart) {
      await within(15_000, 'close after the broker stopped', new Promise((resolve) => client.once('close', resolve)));
      await within(20_000, 'reconnection', new Promise((resolve) => client.once('connect', resolve)));
      // MQTT.js subscribes again on reconnection (resubscribe: true); wait for the SUBACK.
      await client.subscribeAsync(`${topic}/echo/#`, { qos: 1 });
      await client.publishAsync(`${topic}/echo/after`, 'after the restart', { qos: 1 });
      await arrived(4);
    }
  } catch (error) {
    out.error = { code: error?.code ?? null, message: String(error?.message ?? error) };
  } finally {
    await within(5_000, 'end', client.endAsync()).catch((error) => (out.endError = String(error.message)));
  }
  return out;
}
