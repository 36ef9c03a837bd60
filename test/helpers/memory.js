// Drives a client and a server TlsConnection against each other in memory (no network).

/**
 * Runs both handshakes to completion, moving bytes each way, and throws the first error.
 * Bounded: a handshake that needs more than `rounds` flights is a bug.
 */
export function handshake(client, server, { rounds = 10 } = {}) {
  const result = tryHandshake(client, server, { rounds });
  if (result.client) throw result.client;
  if (result.server) throw result.server;
  return result;
}

/**
 * Like handshake(), but returns { client, server } errors (null on success) instead of
 * throwing, after letting each side see what the other sent, alerts included.
 */
export function tryHandshake(client, server, { rounds = 10 } = {}) {
  const state = { client: null, server: null };
  const done = { client: false, server: false };
  const step = (side, conn) => {
    if (done[side] || state[side]) {
      if (done[side] && !state[side]) {
        // A finished side may still have an alert or a ticket to read.
        try {
          conn.read();
        } catch (error) {
          state[side] = error;
        }
      }
      return;
    }
    try {
      done[side] = conn.handshake() === 'done';
    } catch (error) {
      state[side] = error;
    }
  };
  for (let i = 0; i < rounds; i++) {
    step('client', client);
    const toServer = client.drain();
    server.feed(toServer);
    step('server', server);
    const toClient = server.drain();
    client.feed(toClient);
    const settled = (side) => done[side] || state[side];
    if (settled('client') && settled('server') && toServer.length === 0 && toClient.length === 0) {
      step('client', client);
      step('server', server);
      return state;
    }
  }
  throw new Error(`the handshake did not settle in ${rounds} rounds`);
}

/** Sends `data` from one side and returns what the other reads, all of it. */
export function transfer(from, to, data) {
  from.write(data);
  to.feed(from.drain());
  const chunks = [];
  let chunk;
  while ((chunk = to.read()) !== null) chunks.push(chunk);
  from.feed(to.drain()); // anything the reader answered (tickets, key updates)
  return concat(chunks);
}

export function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export const text = (s) => new TextEncoder().encode(s);
export const str = (b) => new TextDecoder().decode(b);
export const hex = (b) => Buffer.from(b).toString('hex');
export const fromHex = (h) => new Uint8Array(Buffer.from(h, 'hex'));
