// A minimal MQTT 3.1.1 client (CONNECT, PUBLISH at QoS 0 or 1, DISCONNECT) over any socket of
// connectTls()'s shape: the same code runs in a page, a worker or Node. Enough to publish to
// a TLS-PSK broker such as mosquitto; not a general MQTT library.
const encoder = new TextEncoder();

export class MqttError extends Error {}

export class MqttClient {
  #socket;
  #writer;
  #packets;
  #nextId = 1;

  constructor(socket) {
    this.#socket = socket;
    this.#writer = socket.writable.getWriter();
    this.#packets = readPackets(socket.readable.getReader());
  }

  /**
   * Opens the MQTT session on an established TLS socket. With mosquitto's
   * use_identity_as_username, the PSK identity is the user name: none is sent.
   */
  static async connect(socket, { clientId, username, keepAliveSeconds = 60 } = {}) {
    await socket.opened;
    const client = new MqttClient(socket);
    const flags = 0x02 | (username === undefined ? 0 : 0x80); // clean session, user name
    const body = [utf8String('MQTT'), Uint8Array.of(4, flags, keepAliveSeconds >> 8, keepAliveSeconds & 0xff), utf8String(clientId ?? '')];
    if (username !== undefined) body.push(utf8String(username));
    await client.#send(0x10, concat(body));
    const connack = await client.#expect(0x20, 'CONNACK');
    const code = connack.body[1];
    if (code !== 0) throw new MqttError(`the broker refused the connection: ${CONNACK_CODES[code] ?? `return code ${code}`}`);
    return client;
  }

  /** PUBLISH; at QoS 1 resolves once the broker acknowledges it (PUBACK). */
  async publish(topic, payload, { qos = 1, retain = false } = {}) {
    if (qos !== 0 && qos !== 1) throw new MqttError('this client publishes at QoS 0 or 1');
    const data = typeof payload === 'string' ? encoder.encode(payload) : payload;
    const id = this.#nextId;
    this.#nextId = (id % 0xffff) + 1; // packet identifiers run 1..65535
    const header = qos ? concat([utf8String(topic), Uint8Array.of(id >> 8, id & 0xff)]) : utf8String(topic);
    await this.#send(0x30 | (qos << 1) | (retain ? 1 : 0), concat([header, data]));
    if (qos === 0) return;
    const ack = await this.#expect(0x40, 'PUBACK');
    if (((ack.body[0] << 8) | ack.body[1]) !== id) throw new MqttError('PUBACK for another packet');
  }

  /** DISCONNECT, then close_notify. */
  async disconnect() {
    await this.#send(0xe0, new Uint8Array(0));
    this.#writer.releaseLock();
    await this.#socket.close();
  }

  async #send(type, body) {
    await this.#writer.write(concat([Uint8Array.of(type), remainingLength(body.length), body]));
  }

  async #expect(type, name) {
    const { value, done } = await this.#packets.next();
    if (done) throw new MqttError(`the broker closed the connection instead of sending ${name}`);
    if ((value.type & 0xf0) !== type) throw new MqttError(`expected ${name}, got packet type ${value.type >> 4}`);
    return value;
  }
}

const CONNACK_CODES = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** MQTT packets ({ type, body }) from a byte stream, whatever the chunking. */
async function* readPackets(reader) {
  let buffer = new Uint8Array(0);
  for (;;) {
    const packet = parsePacket(buffer);
    if (packet) {
      buffer = buffer.subarray(packet.end);
      yield packet;
      continue;
    }
    const { value, done } = await reader.read();
    if (done) return;
    buffer = concat([buffer, value]);
  }
}

function parsePacket(bytes) {
  let length = 0;
  for (let i = 1, shift = 0; i < bytes.length && i <= 4; i++, shift += 7) {
    length += (bytes[i] & 0x7f) << shift;
    if (bytes[i] & 0x80) continue;
    const end = i + 1 + length;
    return end <= bytes.length ? { type: bytes[0], body: bytes.subarray(i + 1, end), end } : null;
  }
  if (bytes.length > 4 && bytes[4] & 0x80) throw new MqttError('malformed remaining length');
  return null;
}

function remainingLength(n) {
  const out = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from(out);
}

function utf8String(text) {
  const bytes = encoder.encode(text);
  return concat([Uint8Array.of(bytes.length >> 8, bytes.length & 0xff), bytes]);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
