// A dumb WebSocket relay: the first two clients on the same path are paired and every binary
// message is forwarded to the other, unchanged. It records what it forwarded, so a test can
// check that it never saw plaintext. Loopback only.
import { once } from 'node:events';
import { WebSocketServer } from 'ws';

export async function startRelay() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const rooms = new Map();
  const forwarded = [];
  wss.on('connection', (ws, req) => {
    const room = rooms.get(req.url) ?? { members: [], waiting: [] };
    rooms.set(req.url, room);
    if (room.members.length >= 2) return ws.close(1008, 'room full');
    room.members.push(ws);
    const other = () => room.members.find((m) => m !== ws);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return ws.close(1003, 'binary only');
      forwarded.push(Buffer.from(data));
      const peer = other();
      if (peer) peer.send(data, { binary: true });
      else room.waiting.push(data); // the first member talks before the second arrives
    });
    ws.on('close', () => other()?.close(1000));
    if (room.members.length === 2) {
      for (const data of room.waiting.splice(0)) ws.send(data, { binary: true });
    }
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    forwarded: () => Buffer.concat(forwarded),
    close: () => new Promise((resolve) => {
      for (const client of wss.clients) client.terminate();
      wss.close(resolve);
    }),
  };
}
