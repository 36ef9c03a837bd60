// A PSK TLS client in Node: connects, sends a line, prints the answer.
//   node examples/node/client.mjs HOST:PORT|ws://BRIDGE/HOST:PORT IDENTITY HEXKEY [MESSAGE]
// HOST:PORT is plain TCP; a ws:// URL goes through the WebSocket bridge, as a browser would.
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { connectTls } from 'openssl-psk-wasm';

const [where, identity, hexKey, message = 'hello over PSK TLS'] = process.argv.slice(2);
if (!where || !identity || !/^([0-9a-f]{2})+$/i.test(hexKey ?? '')) {
  console.error('usage: node examples/node/client.mjs HOST:PORT|ws://BRIDGE/HOST:PORT IDENTITY HEXKEY [MESSAGE]');
  process.exit(2);
}

const [host, port] = where.split(/:(?=\d+$)/);
const target = where.startsWith('ws') ? where : Duplex.toWeb(connect(Number(port), host));
const tls = connectTls(target, { psk: { identity, key: Buffer.from(hexKey, 'hex') } });

try {
  const info = await tls.opened;
  console.log(`${info.protocol} ${info.cipher}, key exchange ${info.keyExchangeGroup ?? 'none'}`);
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode(`${message}\n`));
  const { value } = await tls.readable.getReader().read();
  console.log(`answer: ${new TextDecoder().decode(value).trimEnd()}`);
  await tls.close();
} catch (error) {
  console.error(`${error.code ?? 'error'}: ${error.message}`); // e.g. ERR_PSK_WRONG_KEY: …
  process.exitCode = 1;
}
