// The first-byte benchmark's acceptTls echo server, in a process of its own (as a server
// would run: not on the thread of the bridge and the browser driver). TLS 1.3 with the
// benchmark's PSK, early data allowed and answered as 0.5-RTT data (halfRttData).
// node bench/accept-echo.mjs KEY_HEX IDENTITY: prints "listening PORT", serves until killed.
import { createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { acceptTls } from '../lib/index.js';

const [keyHex, identity] = process.argv.slice(2);
const key = Buffer.from(keyHex, 'hex');
const server = createServer(async (tcp) => {
  tcp.on('error', () => {});
  tcp.setNoDelay(true); // the flight and the 0.5-RTT answer are two writes (README, 0.5-RTT answers)
  const tls = acceptTls(Duplex.toWeb(tcp), { psk: { identity, key }, maxEarlyData: 16384, halfRttData: true });
  try {
    await tls.readable.pipeTo(tls.writable);
  } catch {
    tcp.destroy();
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
