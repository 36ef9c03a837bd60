/**
 * The TLS worker's side: one OpenSSL instance, the imported PSKs (in its wasm memory only, see
 * SecretKey), and the sockets it runs for the page. Plaintext crosses to the page through a
 * pair of transferred streams per socket; keys never cross back.
 */
import { TlsError, describe } from '../errors.js';
import { loadOpenSSL } from '../loader.js';
import type { OpenSSL } from '../openssl.js';
import type { SecretKey } from '../secret.js';
import { acceptTls, connectTls, type TlsSocket, type TlsSocketInfo } from '../socket.js';
import type { StaticPsk } from '../static-psk.js';
import { openWebSocket } from '../transport.js';
import type { PassphraseOptions, TlsWorkerApi, WorkerSocketOptions } from './protocol.js';

const DEFAULT_SUITE = 'TLS_AES_128_GCM_SHA256';

export class TlsWorkerService implements TlsWorkerApi {
  readonly #debug: boolean;
  #openssl: Promise<OpenSSL> | null = null;
  readonly #keys = new Map<string, { key: SecretKey; cipher: string }>();
  /** Each socket by the page's id; a slot exists from the first call that names it. */
  readonly #sockets = new Map<number, { socket: Promise<TlsSocket>; settle(socket: Promise<TlsSocket>): void }>();

  constructor({ debug = false }: { debug?: boolean } = {}) {
    this.#debug = debug;
  }

  #ossl(): Promise<OpenSSL> {
    this.#openssl ??= loadOpenSSL();
    return this.#openssl;
  }

  async importPsk(identity: string, key: ArrayBuffer, { cipher = DEFAULT_SUITE }: { cipher?: string } = {}): Promise<void> {
    checkIdentity(identity);
    if (!(key instanceof ArrayBuffer)) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `the key must be an ArrayBuffer (it is transferred, not copied), got ${describe(key)}`);
    }
    await this.#store(identity, new Uint8Array(key), cipher);
  }

  async importPskFromPassphrase(identity: string, passphrase: string, salt: Uint8Array, options: PassphraseOptions = {}): Promise<void> {
    checkIdentity(identity);
    const { iterations = 600_000, hash = 'SHA-256', length = 32, cipher = DEFAULT_SUITE } = options;
    if (typeof passphrase !== 'string' || passphrase === '') throw new TlsError('ERR_INVALID_ARGUMENT', 'the passphrase must be a non-empty string');
    if (!(salt instanceof Uint8Array) || salt.length < 8) throw new TlsError('ERR_INVALID_ARGUMENT', 'the salt must be a Uint8Array of at least 8 bytes');
    if (!Number.isInteger(iterations) || iterations < 1000) throw new TlsError('ERR_INVALID_ARGUMENT', 'iterations must be a whole number of at least 1000');
    if (!Number.isInteger(length) || length < 16 || length > 48) throw new TlsError('ERR_INVALID_ARGUMENT', 'length must be 16 to 48 bytes');
    const subtle = globalThis.crypto.subtle;
    const material = await subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveBits']);
    const bits = await subtle.deriveBits({ name: 'PBKDF2', hash, salt: new Uint8Array(salt), iterations }, material, length * 8);
    await this.#store(identity, new Uint8Array(bits), cipher);
  }

  /** Moves the key into wasm memory and wipes the bytes it came in. */
  async #store(identity: string, bytes: Uint8Array, cipher: string): Promise<void> {
    const ossl = await this.#ossl();
    ossl.findCipher(cipher); // a clear error now rather than at the first handshake
    try {
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

  async open(
    id: number,
    role: 'client' | 'server',
    url: string,
    options: WorkerSocketOptions,
    toPage: WritableStream<Uint8Array>,
    fromPage: ReadableStream<Uint8Array>,
  ): Promise<TlsSocketInfo> {
    const { identity, identities, ...socketOptions } = options ?? {};
    const creating = (async () => {
      const openssl = await this.#ossl();
      return role === 'client'
        ? connectTls(url, { ...socketOptions, openssl, psk: this.#psk(identity) })
        : acceptTls(await openWebSocket(url), { ...socketOptions, openssl, psk: this.#psks(identities) });
    })();
    this.#slot(id).settle(creating);
    let socket: TlsSocket;
    try {
      socket = await creating;
    } catch (error) {
      toPage.abort(error).catch(() => {});
      fromPage.cancel(error).catch(() => {});
      throw error;
    }
    socket.readable.pipeTo(toPage).catch(() => {});
    fromPage.pipeTo(socket.writable).catch(() => {});
    return socket.opened;
  }

  #slot(id: number): { socket: Promise<TlsSocket>; settle(socket: Promise<TlsSocket>): void } {
    let slot = this.#sockets.get(id);
    if (!slot) {
      let settle!: (socket: Promise<TlsSocket>) => void;
      const socket = new Promise<TlsSocket>((resolve) => (settle = resolve));
      socket.catch(() => {});
      slot = { socket, settle };
      this.#sockets.set(id, slot);
    }
    return slot;
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

  async closed(id: number): Promise<void> {
    try {
      await (await this.#slot(id).socket).closed;
    } finally {
      this.#sockets.delete(id);
    }
  }

  async close(id: number): Promise<void> {
    const slot = this.#sockets.get(id);
    if (slot) await (await slot.socket.catch(() => null))?.close();
  }

  async memoryContains(needle: Uint8Array): Promise<boolean> {
    this.#requireDebug('memoryContains');
    const u8 = (await this.#ossl()).runtime.heap.u8;
    outer: for (let i = u8.indexOf(needle[0]!); i >= 0 && i + needle.length <= u8.length; i = u8.indexOf(needle[0]!, i + 1)) {
      for (let j = 1; j < needle.length; j++) if (u8[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  }

  async crash(): Promise<void> {
    this.#requireDebug('crash');
    setTimeout(() => {
      throw new Error('a crash on purpose (TLS worker debug mode)');
    });
  }

  #requireDebug(what: string): void {
    if (!this.#debug) throw new TlsError('ERR_INVALID_ARGUMENT', `${what}() is only there in a worker created with { debug: true }`);
  }
}

function checkIdentity(identity: unknown): asserts identity is string {
  if (typeof identity !== 'string' || identity === '') throw new TlsError('ERR_INVALID_ARGUMENT', `the identity must be a non-empty string, got ${describe(identity)}`);
}
