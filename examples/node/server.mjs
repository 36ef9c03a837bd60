// A PSK TLS server in Node: acceptTls() on each TCP connection, answering every line in
// capitals. The PSKs come from a table, so each client has its own identity and key.
//   node examples/node/server.mjs PORT IDENTITY HEXKEY [IDENTITY HEXKEY]...
// (port 0 picks a free one). Try it with: openssl s_client -connect 127.0.0.1:PORT
// -psk_identity IDENTITY -psk HEXKEY
import { createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { acceptTls, loadOpenSSL } from 'openssl-psk-wasm';

const [port, ...pairs] = process.argv.slice(2);
if (!/^\d+$/.test(port ?? '') || pairs.length === 0 || pairs.length % 2 || pairs.some((p, i) => i % 2 && !/^([0-9a-f]{2})+$/i.test(p))) {
  console.error('usage: node examples/node/server.mjs PORT IDENTITY HEXKEY [IDENTITY HEXKEY]...');
  process.exit(2);
}
const keys = new Map();
for (let i = 0; i + 1 < pairs.length; i += 2) keys.set(pairs[i], Buffer.from(pairs[i + 1], 'hex'));

// One context for every connection: TLS 1.2 PSK suites and TLS 1.3 external PSKs.
const ossl = await loadOpenSSL();
const context = ossl.createContext({
  role: 'server',
  pskServer: (conn, identity) => keys.get(identity) ?? null, // TLS 1.2 (and 1.3, SHA-256 PSKs)
});

const server = createServer(async (socket) => {
  const tls = acceptTls(Duplex.toWeb(socket), { context });
  try {
    const info = await tls.opened;
    console.log(`${socket.remoteAddress}:${socket.remotePort} ${info.protocol} ${info.cipher}`);
    const writer = tls.writable.getWriter();
    for await (const chunk of tls) await writer.write(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()));
    await tls.close();
  } catch (error) {
    console.log(`${socket.remoteAddress}:${socket.remotePort} failed: ${error.code ?? ''} ${error.message}`);
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.once('SIGINT', () => server.close(() => context.free()));
process.once('SIGTERM', () => server.close(() => context.free()));
