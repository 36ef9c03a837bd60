// Real TLS-PSK peers as child processes, on loopback only, each stopped by the test that
// started it (stopPeers() in an after() hook stops any left over). Every wait is bounded.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const running = new Set();

export class Peer {
  #output = '';
  #exit = null;

  constructor(name, child) {
    this.name = name;
    this.child = child;
    const collect = (chunk) => {
      this.#output += chunk.toString('latin1');
      this.child.emit('output');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.#exit = { code, signal };
        running.delete(this);
        resolve(this.#exit);
      });
      child.on('error', (error) => {
        this.#exit = { error };
        running.delete(this);
        resolve(this.#exit);
      });
    });
    running.add(this);
  }

  /** Everything the process wrote to stdout and stderr so far (latin1, byte for byte). */
  get output() {
    return this.#output;
  }

  /** Waits until the output matches `pattern`; returns the match. */
  async waitFor(pattern, { timeoutMs = 10000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = typeof pattern === 'string' ? (this.#output.includes(pattern) ? [pattern] : null) : this.#output.match(pattern);
      if (match) return match;
      if (this.#exit) throw new Error(`${this.name} exited (${JSON.stringify(this.#exit)}) before printing ${pattern}:\n${this.#output}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.#output}`);
      const done = new AbortController(); // so the listeners of each round go away with it
      await Promise.race([once(this.child, 'output', { signal: done.signal }).catch(() => {}), this.exited, sleep(Math.min(left, 250))]);
      done.abort();
    }
  }

  write(data) {
    this.child.stdin.write(data);
  }

  /** SIGTERM, then SIGKILL after 2 s; the whole process group when started detached. */
  async stop() {
    if (this.#exit) return this.#exit;
    const signal = (sig) => {
      try {
        if (this.detached) process.kill(-this.child.pid, sig);
        else this.child.kill(sig);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 2000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

export function startPeer(name, command, args, { detached = false, env, cwd } = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached, env: env ?? process.env, ...(cwd ? { cwd } : {}) });
  const peer = new Peer(name, child);
  peer.detached = detached;
  return peer;
}

export async function stopPeers() {
  await Promise.all([...running].map((p) => p.stop()));
}

const hexOf = (key) => Buffer.from(key).toString('hex');

/** `openssl s_server` on 127.0.0.1 with a kernel-chosen port; resolves once it accepts. `cwd`: where -WWW serves from. */
export async function opensslServer(args, { cwd } = {}) {
  const peer = startPeer('openssl s_server', 'openssl', ['s_server', '-accept', '127.0.0.1:0', ...args], cwd ? { cwd } : {});
  const [, port] = await peer.waitFor(/ACCEPT [^\n]*:(\d+)\n/);
  peer.port = Number(port);
  return peer;
}

/** `openssl s_client -quiet` to 127.0.0.1:port; stdin stays open until stop(). */
export function opensslClient(port, args) {
  return startPeer('openssl s_client', 'openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args]);
}

export const pskArgs = (identity, key) => ['-psk_identity', identity, '-psk', hexOf(key)];

/**
 * `gnutls-serv --echo` with a PSK file. It cannot be told to listen on loopback only, so it
 * runs in a private network namespace that has only loopback, reached through a UNIX socket;
 * a listener on 127.0.0.1 here relays to that socket.
 */
export async function gnutlsServer({ users, priority, hint }) {
  const dir = mkdtempSync(join(tmpdir(), 'opw-gnutls-'));
  const passwd = join(dir, 'psk.passwd');
  writeFileSync(passwd, [...users].map(([id, key]) => `${id}:${hexOf(key)}\n`).join(''));
  const socket = join(dir, 'serv.sock');
  const serv = ['gnutls-serv', '--echo', '-p', '5556', '--pskpasswd', passwd, '--priority', priority];
  if (hint) serv.push('--pskhint', hint);
  const script = `ip link set lo up && { ${serv.map(quote).join(' ')} & } && sleep 0.2 && exec socat UNIX-LISTEN:${quote(socket)},fork TCP:127.0.0.1:5556`;
  const peer = startPeer('gnutls-serv', 'unshare', ['--net', 'sh', '-c', script], { detached: true });
  await peer.waitFor(/listening on IPv4[^\n]*done/); // "listening…" is printed before listen(), "done" after
  for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
  if (!existsSync(socket)) throw new Error(`gnutls-serv: no socket at ${socket}:\n${peer.output}`);

  const relay = createServer((client) => {
    const upstream = connect({ path: socket });
    client.pipe(upstream).on('error', () => {});
    upstream.pipe(client).on('error', () => {});
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  peer.port = relay.address().port;
  const stop = peer.stop.bind(peer);
  peer.stop = async () => {
    relay.close();
    const result = await stop();
    rmSync(dir, { recursive: true, force: true });
    return result;
  };
  return peer;
}

/** `gnutls-cli` to 127.0.0.1:port with a PSK. */
export function gnutlsClient(port, { identity, key, priority }) {
  return startPeer('gnutls-cli', 'gnutls-cli', ['-p', String(port), '127.0.0.1', '--pskusername', identity, '--pskkey', hexOf(key), '--priority', priority]);
}

/**
 * Node's own `tls` (native OpenSSL 3) as a PSK server on 127.0.0.1, TLS 1.2 and 1.3 (SHA-256
 * PSKs); `onConnection` gets each TLS socket. Without `identity`, any identity gets the key.
 */
export async function nodeTlsServer({ identity, key, hint }, onConnection) {
  const server = createTlsServer(
    {
      minVersion: 'TLSv1.2',
      ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:PSK-AES128-GCM-SHA256:ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES256-GCM-SHA384',
      dhparam: 'auto',
      ...(hint ? { pskIdentityHint: hint } : {}),
      pskCallback: (socket, id) => (identity === undefined || id === identity ? Buffer.from(key) : null),
    },
    (socket) => {
      socket.on('error', () => {});
      onConnection(socket);
    },
  );
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: server.address().port, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** Every byte back as it came. */
export function nodeTlsEchoServer(options) {
  return nodeTlsServer(options, (socket) => socket.pipe(socket));
}

/** A TCP server on loopback that accepts and never says anything (stop() drops its connections). */
export async function silentServer() {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    stop: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Sends `bytes` bytes of 0x5a as fast as the client takes them, then ends. `maxListeners()`
 * tells the most 'close' listeners its sockets had at a pause.
 */
export async function nodeTlsFloodServer({ key, bytes }) {
  let most = 0;
  const server = await nodeTlsServer({ key }, async (socket) => {
    const chunk = Buffer.alloc(65536, 0x5a);
    for (let sent = 0; sent < bytes && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(chunk)) {
        await drainedOrClosed(socket);
        most = Math.max(most, socket.listenerCount('close'));
      }
    }
    socket.end();
  });
  return { ...server, maxListeners: () => most };
}

/** Debian's websockify from 127.0.0.1:<free port> to 127.0.0.1:targetPort; resolves once it accepts. */
export async function websockify(targetPort) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const peer = startPeer('websockify', 'websockify', [`127.0.0.1:${port}`, `127.0.0.1:${targetPort}`]);
    try {
      await peer.waitFor('proxying from', { timeoutMs: 10000 });
      await waitListening(port, 5000);
      peer.port = port;
      peer.url = `ws://127.0.0.1:${port}`;
      return peer;
    } catch (error) {
      await peer.stop();
      if (attempt >= 2) throw error;
    }
  }
}

/** A port that was free a moment ago (for peers that cannot report the one they bound). */
export async function freePort() {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function waitListening(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await sleep(50);
  }
}

/** Polls `predicate` every 10 ms; rejects if it is still false after `ms`. */
export async function waitUntil(predicate, ms) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${ms} ms: ${predicate}`);
    await sleep(10);
  }
}

/** Resolves with the promise's value, or with 'timeout' after `ms` (the timer never holds the process). */
export function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, ms, 'timeout')));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `tshark` capturing TCP port `port` on loopback into a pcapng file. The kernel hands packets
 * to dumpcap in blocks, late: "Capture started" comes before the filter is live, and packets
 * still in a block at SIGINT are lost. So a UDP probe that tshark shows marks each edge: one
 * seen before start resolves, one seen after the traffic lets stop() end the capture. stop()
 * resolves the file's path.
 */
export async function tsharkCapture(port, dir) {
  const probe = createSocket('udp4');
  probe.bind(0, '127.0.0.1');
  await once(probe, 'listening');
  const probePort = probe.address().port;
  const path = join(dir, `capture-${port}.pcapng`);
  const peer = startPeer('tshark', 'tshark', ['-i', 'lo', '-l', '-P', '-f', `tcp port ${port} or udp port ${probePort}`, '-w', path]);
  const probesSeen = () => (peer.output.match(/\bUDP\b/g) ?? []).length;
  const probeUntilSeen = async () => {
    const before = probesSeen();
    const deadline = Date.now() + 15000;
    while (probesSeen() === before) {
      if (Date.now() > deadline) throw new Error(`tshark showed none of its probes:\n${peer.output}`);
      probe.send('probe', probePort, '127.0.0.1');
      await sleep(100);
    }
  };
  try {
    await peer.waitFor('Capture started', { timeoutMs: 30000 });
    await probeUntilSeen();
  } catch (error) {
    probe.close();
    await peer.stop();
    throw error;
  }
  const stop = async () => {
    try {
      await probeUntilSeen();
    } finally {
      probe.close();
      peer.child.kill('SIGINT');
      await peer.exited;
    }
    return path;
  };
  return { path, stop };
}

/**
 * mosquitto with PSK only, on 127.0.0.1 (PEERS.md): `users` maps identity -> key; the identity
 * is the user name. It stays root (`user root`) so it can read the key file, kept private.
 */
export async function mosquittoBroker({ users, hint = 'mqtt-psk', port: wanted }) {
  const dir = mkdtempSync(join(tmpdir(), 'opw-mosquitto-'));
  const pskFile = join(dir, 'psk');
  writeFileSync(pskFile, [...users].map(([id, key]) => `${id}:${hexOf(key)}\n`).join(''), { mode: 0o600 });
  const port = wanted ?? (await freePort()); // a given port: the same broker again, after a restart
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `psk_hint ${hint}`,
      `psk_file ${pskFile}`,
      'use_identity_as_username true',
      'allow_anonymous false',
      'user root',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const peer = startPeer('mosquitto', 'mosquitto', ['-c', conf]);
  try {
    await waitListening(port, 10000);
  } catch (error) {
    await peer.stop();
    throw new Error(`${error.message}:\n${peer.output}`, { cause: error });
  }
  peer.port = port;
  const stop = peer.stop.bind(peer);
  peer.stop = async () => {
    const result = await stop();
    rmSync(dir, { recursive: true, force: true });
    return result;
  };
  return peer;
}

/**
 * Resolves at the socket's next 'drain' or 'close', and removes both listeners then: racing
 * two once() calls left the loser's listeners (and once()'s 'error' ones) behind at every
 * pause, 11 of them after 11 pauses (MaxListenersExceededWarning).
 */
export function drainedOrClosed(socket) {
  const done = new AbortController();
  const signal = done.signal;
  return Promise.race([once(socket, 'drain', { signal }), once(socket, 'close', { signal })])
    .catch(() => {}) // once() rejects on 'error', and on the abort below
    .finally(() => done.abort());
}
