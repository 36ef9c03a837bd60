/**
 * The TLS worker's side: one OpenSSL instance, the imported PSKs (in its wasm memory only, see
 * SecretKey), and the sockets it runs for the page. Plaintext crosses to the page on a
 * MessagePort of each socket's own, or on a pair of transferred streams if the page asked for
 * them (./channel.ts); keys never cross back. The arguments arrive checked (./serve.ts).
 */
import { TlsError } from '../core/errors.js';
import { loadOpenSSL } from '../tls/psk-build.js';
import type { OpenSSL } from '../tls/openssl.js';
import type { SecretKey } from '../tls/secret.js';
import type { TlsSocketInfo } from '../socket/socket-shape.js';
import { acceptTls, connectTls } from '../socket/connect.js';
import type { TlsSocket } from '../socket/socket.js';
import type { StaticPsk } from '../socket/static-psk.js';
import type { FindPsk } from '../socket/socket-options.js';
import { newWebSocket } from '../socket/transport.js';
import { PORT_WINDOW, type PassphraseOptions, type SocketChannel, type StartOptions, type WorkerSocketOptions } from './protocol.js';
import { DEFAULT_SUITE, derivePsk } from './passphrase.js';
import { streamsOverPort } from './port-streams.js';

export class TlsWorkerService {
  #openssl: Promise<OpenSSL> | null = null;
  readonly #keys = new Map<string, { key: SecretKey; cipher: string }>();
  /** Each socket by the page's number, from open() until it has closed. */
  readonly #sockets = new Map<number, Promise<TlsSocket>>();
  /** What each open socket's pump has handed to TLS, for close(). */
  readonly #pumps = new Map<number, Pump>();

  /**
   * Loads OpenSSL (from `wasmUrl`, or the package's .wasm): once, before anything else has
   * loaded it, so that no later message can swap the module under imported keys.
   */
  async start({ wasmUrl }: StartOptions): Promise<void> {
    if (this.#openssl) throw new TlsError('ERR_INVALID_ARGUMENT', 'start() comes first and once: this worker has loaded OpenSSL already');
    this.#openssl = loadOpenSSL(wasmUrl === undefined ? {} : { wasmUrl });
    await this.#openssl;
  }

  /** The worker's OpenSSL instance (loaded on first use). For code running in the worker only. */
  instance(): Promise<OpenSSL> {
    this.#openssl ??= loadOpenSSL();
    return this.#openssl;
  }

  async importPsk(identity: string, key: ArrayBuffer, { cipher = DEFAULT_SUITE }: { cipher?: string } = {}): Promise<void> {
    await this.#store(identity, new Uint8Array(key), cipher);
  }

  async importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions = {}): Promise<void> {
    const { bytes, cipher } = await derivePsk(passphrase, salt, options);
    await this.#store(identity, bytes, cipher);
  }

  /** Moves the key into wasm memory and wipes the bytes it came in. */
  async #store(identity: string, bytes: Uint8Array, cipher: string): Promise<void> {
    try {
      const ossl = await this.instance();
      ossl.findCipher(cipher); // a clear error now rather than at the first handshake
      const key = ossl.importSecret(bytes, { wipe: true });
      this.#keys.get(identity)?.key.free();
      this.#keys.set(identity, { key, cipher });
    } finally {
      bytes.fill(0);
    }
  }

  async deletePsk(identity: string): Promise<boolean> {
    const entry = this.#keys.get(identity);
    if (!entry) return false;
    entry.key.free();
    this.#keys.delete(identity);
    return true;
  }

  async listPsks(): Promise<string[]> {
    return [...this.#keys.keys()];
  }

  /** Forgets every PSK (a worker without a store has only those in memory); resolves with how many. */
  async clearStore(): Promise<number> {
    const count = this.#keys.size;
    for (const identity of [...this.#keys.keys()]) await this.deletePsk(identity);
    return count;
  }

  /** Whether the PSK `identity` is in this worker's wasm memory now. */
  holds(identity: string): boolean {
    return this.#keys.has(identity);
  }

  /** Opens socket `id` and answers its handshake's outcome; its plaintext crosses on `channel`. */
  async open(id: number, role: 'client' | 'server', url: string, options: WorkerSocketOptions, channel: SocketChannel): Promise<TlsSocketInfo> {
    const { toPage, fromPage } =
      channel.kind === 'streams'
        ? channel
        : (({ readable, writable }) => ({ toPage: writable, fromPage: readable }))(
            streamsOverPort(channel.port, { window: PORT_WINDOW, transferWrites: true }),
          );
    if (this.#sockets.has(id)) {
      const error = new TlsError('ERR_INVALID_ARGUMENT', `socket ${id} is already open`);
      toPage.abort(error).catch(() => {});
      throw error;
    }
    const { identity, identities, asyncLookup, ...socketOptions } = options;
    if (asyncLookup && role !== 'server') throw new TlsError('ERR_INVALID_ARGUMENT', 'asyncLookup is for accept()');
    const creating = (async () => {
      const openssl = await this.instance();
      if (role === 'client') return connectTls(url, { ...socketOptions, openssl, psk: this.#psk(identity) });
      const keys = asyncLookup ? { findPsk: this.#findPsk(identities) } : { psk: this.#psks(identities) };
      // Handed over while connecting: the client may have spoken first (see newWebSocket).
      return acceptTls(await newWebSocket(url), { ...socketOptions, openssl, ...keys });
    })();
    creating.catch(() => {});
    this.#sockets.set(id, creating);
    let socket: TlsSocket;
    try {
      socket = await creating;
    } catch (error) {
      this.#sockets.delete(id);
      toPage.abort(error).catch(() => {});
      fromPage.cancel(error).catch(() => {});
      throw error;
    }
    const pumping = new Pump(fromPage, socket.writable);
    this.#pumps.set(id, pumping);
    void socket.closed
      .catch(() => {})
      .finally(() => {
        this.#sockets.delete(id);
        this.#pumps.delete(id);
      });
    socket.readable.pipeTo(toPage).catch(() => {});
    return socket.opened;
  }

  #psk(identity: string | undefined): StaticPsk {
    if (identity === undefined) {
      if (this.#keys.size !== 1) throw new TlsError('ERR_INVALID_ARGUMENT', 'connect() needs { identity } naming an imported PSK');
      identity = [...this.#keys.keys()][0]!;
    }
    const entry = this.#keys.get(identity);
    if (!entry) throw new TlsError('ERR_INVALID_ARGUMENT', `no PSK imported for identity ${JSON.stringify(identity)}: importPsk() it first`);
    return { identity, key: entry.key, cipher: entry.cipher };
  }

  #psks(identities: string[] | undefined): StaticPsk[] {
    const list = (identities ?? [...this.#keys.keys()]).map((identity) => this.#psk(identity));
    if (list.length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'accept() needs at least one imported PSK');
    return list;
  }

  /**
   * accept()'s asynchronous lookup (asyncLookup): each identity the client offers is looked up
   * in the key store when the handshake asks for it, among `identities` if given.
   */
  #findPsk(identities: string[] | undefined): FindPsk {
    const allowed = identities ? new Set(identities) : null;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    return async (bytes) => {
      let identity: string;
      try {
        identity = decoder.decode(bytes);
      } catch {
        return null; // imported identities are strings: one that is not UTF-8 is none of them
      }
      if (allowed && !allowed.has(identity)) return null;
      const entry = await this.#lookUp(identity);
      return entry ? { key: entry.key, cipher: entry.cipher } : null;
    };
  }

  /** The key store's lookup: what a handshake awaits. Keys imported into this worker live in its wasm memory. */
  async #lookUp(identity: string): Promise<{ key: SecretKey; cipher: string } | null> {
    return this.#keys.get(identity) ?? null;
  }

  async closed(id: number): Promise<void> {
    const socket = this.#sockets.get(id);
    if (!socket) throw new TlsError('ERR_INVALID_ARGUMENT', `no socket ${id} is open`);
    await (
      await socket
    ).closed;
  }

  /** Closes socket `id` once the first `sent` bytes from the page have gone to TLS (see protocol.ts). */
  async close(id: number, sent = 0): Promise<void> {
    const socket = await this.#sockets.get(id)?.catch(() => null);
    await this.#pumps.get(id)?.handedOn(sent, CLOSE_WAIT_MS);
    await socket?.close();
  }
}

/** How long close() waits for bytes the page says it sent (a page may claim more than it did). */
const CLOSE_WAIT_MS = 10_000;

/**
 * fromPage.pipeTo(socket), except that a failure of the page's side reaches the socket at
 * once (pipeTo would first wait for the write in progress, which may wait for the handshake),
 * and it counts what TLS has taken, for a close() that must not overtake it.
 */
class Pump {
  #handedOn = 0;
  #ended = false;
  #waiters = new Set<() => void>();

  constructor(from: ReadableStream<Uint8Array>, to: WritableStream<Uint8Array>) {
    void this.#run(from, to).finally(() => {
      this.#ended = true;
      this.#wake();
    });
  }

  /** Resolves once `bytes` have been written to TLS, the pump has ended, or `ms` have passed. */
  async handedOn(bytes: number, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    try {
      while (this.#handedOn < bytes && !this.#ended) {
        let woken!: () => void;
        const wake = new Promise<void>((resolve) => (woken = resolve));
        this.#waiters.add(woken);
        const timedOut = await Promise.race([wake.then(() => false), deadline.then(() => true)]);
        this.#waiters.delete(woken);
        if (timedOut) return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  async #run(from: ReadableStream<Uint8Array>, to: WritableStream<Uint8Array>): Promise<void> {
    const reader = from.getReader();
    const writer = to.getWriter();
    reader.closed.catch((error: unknown) => writer.abort(error).catch(() => {}));
    writer.closed.catch((error: unknown) => reader.cancel(error).catch(() => {}));
    try {
      for (;;) {
        await writer.ready;
        const { value, done } = await reader.read();
        if (done) return await writer.close();
        // Not awaited, so the next chunk is read meanwhile; a failed write errors the writer
        // (see writer.closed).
        writer.write(value).then(
          () => {
            this.#handedOn += value.byteLength;
            this.#wake();
          },
          () => {},
        );
      }
    } catch {
      // one side failed; the handlers above pass it to the other
    }
  }
}
