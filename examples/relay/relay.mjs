// Two browsers, one PSK TLS session between them: a dumb WebSocket relay pairs the first two
// clients on the same path and forwards every binary message to the other, unchanged. One page
// runs acceptTls(), the other connectTls(); the relay (and anyone on the way) sees ciphertext.
//   node examples/relay/relay.mjs     prints two page URLs to open, Ctrl-C stops
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { serveStatic } from '../static-server.mjs';

/** The relay, on 127.0.0.1. `onForward(bytes)` sees each message it forwards (ciphertext). */
export async function startRelay({ port = 0, onForward = () => {} } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 1 << 20 });
  await once(wss, 'listening');
  const rooms = new Map();
  wss.on('connection', (ws, req) => {
    const room = rooms.get(req.url) ?? { members: [], waiting: [] };
    rooms.set(req.url, room);
    if (room.members.length >= 2) return ws.close(1008, 'room full');
    room.members.push(ws);
    const other = () => room.members.find((m) => m !== ws);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return ws.close(1003, 'binary only');
      onForward(Buffer.from(data));
      const peer = other();
      if (peer) peer.send(data, { binary: true });
      else room.waiting.push(data); // the first member talks before the second arrives
    });
    ws.on('close', () => {
      other()?.close(1000);
      room.members.splice(room.members.indexOf(ws), 1);
      if (room.members.length === 0) rooms.delete(req.url);
    });
    if (room.members.length === 2) {
      for (const data of room.waiting.splice(0)) ws.send(data, { binary: true });
    }
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(resolve);
      }),
  };
}

/** The relay and a web server for the page; resolves the two page URLs for one room. */
export async function startRelayDemo({ onForward } = {}) {
  const relay = await startRelay({ onForward });
  const web = await serveStatic({
    mounts: {
      '/': fileURLToPath(new URL('./', import.meta.url)),
      '/lib/': fileURLToPath(new URL('../../dist/browser/', import.meta.url)),
      '/ladder.js': fileURLToPath(new URL('../browser/ladder.js', import.meta.url)),
      '/page.css': fileURLToPath(new URL('../browser/page.css', import.meta.url)),
    },
  });
  // The PSK travels in the URL fragment, which browsers never send to a server: in a real
  // application both ends would hold it already.
  const key = Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString('hex');
  const room = Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex');
  const page = (role) => `${web.url}/?role=${role}&relay=${encodeURIComponent(`${relay.url}/${room}`)}#identity=pair-${room}&key=${key}`;
  return {
    serverPage: page('server'),
    clientPage: page('client'),
    close: async () => (await relay.close(), await web.close()),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await startRelayDemo();
  console.log('Open these two pages in two browser windows (server first or second, either works):');
  console.log(`  ${demo.serverPage}`);
  console.log(`  ${demo.clientPage}`);
  console.log('Ctrl-C stops the relay.');
  await new Promise((resolve) => process.once('SIGINT', resolve));
  await demo.close();
}
