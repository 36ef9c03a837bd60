// `npm start`: PSK handshakes with OpenSSL 1.1.1w in WebAssembly, printing what each
// negotiated. First a wasm client and a wasm server in memory, then the wasm client against
// the native `openssl s_server` over loopback TCP.
import { spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { loadOpenSSL } from '../lib/index.js';
import { connectTcp } from './tcp-driver.mjs';

const started = performance.now();
const ossl = await loadOpenSSL();
console.log(`${ossl.version} in WebAssembly, loaded in ${(performance.now() - started).toFixed(1)} ms\n`);

const encode = (s) => new TextEncoder().encode(s);
const decode = (b) => new TextDecoder().decode(b);
const randomKey = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const rows = [];

function report(scenario, conn, echoed) {
  rows.push({
    scenario,
    protocol: conn.protocol,
    cipher: conn.cipher?.name,
    'key exchange': conn.keyExchangeGroup ?? 'none (PSK only)',
    'PSK used': conn.protocol === 'TLSv1.3' ? String(conn.sessionReused) : 'yes (PSK suite)',
    'early data': conn.earlyDataStatus,
    echo: echoed,
  });
}

// Moves bytes between two in-memory connections until both handshakes are done.
function pump(client, server) {
  for (let round = 0; round < 10 && !(client.handshakeDone && server.handshakeDone); round++) {
    if (!client.handshakeDone) client.handshake();
    server.feed(client.drain());
    if (!server.handshakeDone) server.handshake();
    client.feed(server.drain());
  }
}

// 1. TLS 1.3 external PSKs, wasm client <-> wasm server, in memory.
for (const [cipher, keyLength, earlyData] of [
  ['TLS_AES_128_GCM_SHA256', 32, false],
  ['TLS_AES_256_GCM_SHA384', 48, true],
]) {
  const session = ossl.createPskSession({ masterKey: randomKey(keyLength), cipher, maxEarlyData: earlyData ? 1024 : 0 });
  const client = ossl.createContext({ role: 'client', pskUseSession: () => ({ identity: 'device-1', session }) });
  const server = ossl.createContext({ role: 'server', maxEarlyData: 1024, pskFindSession: (conn, id) => (decode(id) === 'device-1' ? session : null) });
  const c = client.createConnection();
  const s = server.createConnection();
  let early = '';
  if (earlyData) {
    c.writeEarlyData(encode('0-RTT'));
    s.feed(c.drain());
    early = decode(s.readEarlyData().data ?? new Uint8Array()) + ', ';
  }
  pump(c, s);
  c.write(encode('ping'));
  s.feed(c.drain());
  report(`wasm <-> wasm, TLS 1.3 PSK ${keyLength === 48 ? 'SHA-384' : 'SHA-256'}`, c, early + decode(s.read()));
  for (const o of [c, s, client, server, session]) o.free();
}

// 2. TLS 1.2 ECDHE-PSK, wasm <-> wasm, with the server's identity hint.
{
  const key = randomKey(32);
  let hintSeen = null;
  const client = ossl.createContext({
    role: 'client',
    maxVersion: 'TLSv1.2',
    cipherList: 'ECDHE-PSK-CHACHA20-POLY1305',
    pskClient: (conn, hint) => ((hintSeen = hint), { identity: 'device-1', psk: key }),
  });
  const server = ossl.createContext({ role: 'server', pskIdentityHint: 'gateway-7', pskServer: (conn, id) => (id === 'device-1' ? key : null) });
  const c = client.createConnection();
  const s = server.createConnection();
  pump(c, s);
  c.write(encode('ping'));
  s.feed(c.drain());
  report(`wasm <-> wasm, TLS 1.2 (hint "${hintSeen}")`, c, decode(s.read()));
  for (const o of [c, s, client, server]) o.free();
}

// 3. The wasm client against the native openssl s_server (OpenSSL 3), over loopback TCP.
async function againstOpensslServer(scenario, serverArgs, clientOptions) {
  const server = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-nocert', '-rev', ...serverArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    let output = '';
    server.stdout.on('data', (d) => (output += d));
    const deadline = Date.now() + 5000;
    while (!/ACCEPT .*:(\d+)\n/.test(output)) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`openssl s_server did not start: ${output}`);
      await Promise.race([once(server.stdout, 'data'), once(server, 'exit')]);
    }
    const port = Number(/ACCEPT .*:(\d+)\n/.exec(output)[1]);
    const ctx = ossl.createContext(clientOptions);
    const conn = ctx.createConnection();
    const tls = connectTcp(conn, port);
    await tls.handshake();
    tls.send(encode('hello s_server\n'));
    report(scenario, conn, decode(await tls.receive(15)).trim());
    await tls.close();
    conn.free();
    ctx.free();
  } finally {
    server.kill();
  }
}

const key = randomKey(32);
const hex = Buffer.from(key).toString('hex');
const session = ossl.createPskSession({ masterKey: key, cipher: 'TLS_AES_128_GCM_SHA256' });
try {
  await againstOpensslServer('wasm -> openssl s_server, TLS 1.3', ['-tls1_3', '-psk', hex, '-psk_identity', 'device-1'], {
    role: 'client',
    pskUseSession: () => ({ identity: 'device-1', session }),
  });
  await againstOpensslServer('wasm -> openssl s_server, TLS 1.2', ['-tls1_2', '-psk', hex, '-psk_hint', 'gw', '-cipher', 'DHE-PSK-AES256-GCM-SHA384'], {
    role: 'client',
    maxVersion: 'TLSv1.2',
    cipherList: 'DHE-PSK-AES256-GCM-SHA384',
    pskClient: () => ({ identity: 'device-1', psk: key }),
  });
} catch (error) {
  console.error(`(native openssl s_server part skipped: ${error.message})`);
} finally {
  session.free();
}

console.table(rows);
const { memoryBytes, inUseBytes } = ossl.heapStats();
console.log(`wasm memory ${memoryBytes / 1024} KiB, ${inUseBytes} bytes in use after freeing everything`);
