// A TLS 1.3 PSK server in Node whose keys live in a file, read asynchronously when a client
// asks: acceptTls()'s findPsk. Nothing is loaded up front, so a key added to (or removed from)
// the file counts from the next handshake on, without a restart. Answers every line in capitals.
//   node examples/node/key-store-server.mjs PORT KEYFILE
// KEYFILE has one `identity:hexkey` line per client (a SHA-256 PSK), or
// `identity:hexkey:TLS_AES_256_GCM_SHA384` for a SHA-384 one. Try it with:
//   openssl s_client -tls1_3 -connect 127.0.0.1:PORT -psk_identity IDENTITY -psk HEXKEY
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { acceptTls, loadOpenSSL } from 'openssl-psk-wasm';

const [port, keyFile] = process.argv.slice(2);
if (!/^\d+$/.test(port ?? '') || !keyFile) {
  console.error('usage: node examples/node/key-store-server.mjs PORT KEYFILE');
  process.exit(2);
}

/** The file-backed store: the key of `identity`, or null. Read on every lookup; `signal` gives up with the handshake. */
async function findKey(identity, signal) {
  const lines = (await readFile(keyFile, { encoding: 'utf8', signal })).split('\n');
  for (const line of lines) {
    const [id, hex, cipher] = line.trim().split(':');
    if (id === identity && /^([0-9a-f]{2})+$/i.test(hex ?? '')) return { key: Buffer.from(hex, 'hex'), ...(cipher ? { cipher } : {}) };
  }
  return null;
}

const ossl = await loadOpenSSL();
const decoder = new TextDecoder();

const server = createServer(async (socket) => {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const tls = acceptTls(Duplex.toWeb(socket), {
    openssl: ossl,
    // Called with each identity the client offers, in its order, until one has a key. TLS 1.3
    // only: OpenSSL asks for a TLS 1.2 PSK where a handshake cannot wait, so a TLS 1.2 client is
    // refused (protocol_version).
    findPsk: async (identity, { signal }) => {
      const name = decoder.decode(identity);
      const found = await findKey(name, signal);
      console.log(`${peer} looked up ${JSON.stringify(name)}: ${found ? 'found' : 'unknown'}`);
      return found;
    },
    pskLookupTimeoutMs: 2000, // a store slower than this fails the handshake (ERR_PSK_LOOKUP)
  });
  try {
    const info = await tls.opened;
    console.log(`${peer} ${info.protocol} ${info.cipher}`);
    const writer = tls.writable.getWriter();
    for await (const chunk of tls) await writer.write(new TextEncoder().encode(decoder.decode(chunk).toUpperCase()));
    await tls.close();
  } catch (error) {
    console.log(`${peer} failed: ${error.code ?? ''} ${error.message}`);
  }
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.once('SIGINT', () => server.close());
process.once('SIGTERM', () => server.close());
