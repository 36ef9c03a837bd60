/**
 * Which sockets the bridge keeps while they are not (yet) tunnels: those on their way through
 * the HTTP upgrade, and refused WebSockets whose close handshake runs. Every one of them holds
 * a place, and a flood of silent or slow sockets must never keep a fresh client out:
 *
 * - a socket that has sent no byte within firstByteTimeoutMs is cut; one that has not finished
 *   its upgrade within upgradeTimeoutMs is cut; a refused WebSocket gets REFUSED_CLOSE_MS to
 *   answer the close (ws alone would wait 30 s);
 * - one client address holds at most maxPendingPerAddress places: beyond, its own oldest
 *   socket goes, so an address can only crowd out itself;
 * - all together hold at most maxPending places: beyond, the oldest goes (refused ones first,
 *   then silent ones), never the newest, which is the one most likely about to finish.
 *
 * Behind a reverse proxy every socket comes from the proxy's address. For peers listed in
 * trustedProxies the per-address cap waits for the request, and the client address is taken
 * from its X-Forwarded-For header: the rightmost entry the trusted proxies did not add.
 */
import type { IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';

export interface AdmissionLimits {
  maxPending: number;
  maxPendingPerAddress: number;
  firstByteTimeoutMs: number;
  upgradeTimeoutMs: number;
  trustedProxies: readonly string[];
}

/** Why the bridge cut a socket that was not (yet) a tunnel: the bound it reached. */
export type EvictionReason =
  | 'no byte within firstByteTimeoutMs'
  | 'upgrade not finished within upgradeTimeoutMs'
  | 'refused WebSocket not closed in time'
  | 'oldest of its address (maxPendingPerAddress)'
  | 'oldest pending (maxPendingUpgrades)';

/** How long a refused WebSocket may take to answer the bridge's close frame. */
export const REFUSED_CLOSE_MS = 1000;

interface Entry {
  socket: Socket;
  /** The client's address; null while a trusted proxy's request has not arrived. */
  address: string | null;
  refused: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #trusted: Set<string>;
  readonly #onEvict: (address: string, why: EvictionReason) => void;
  /** In arrival order: the first is the oldest. */
  readonly #pending = new Map<Socket, Entry>();
  readonly #perAddress = new Map<string, number>();
  #evicted = 0;

  constructor(limits: AdmissionLimits, onEvict: (address: string, why: EvictionReason) => void) {
    this.#limits = limits;
    this.#trusted = new Set(
      limits.trustedProxies.map((address) => {
        const canonical = canonicalAddress(address);
        if (!canonical) throw new Error(`a trusted proxy must be an IP address, got ${JSON.stringify(address)}`);
        return canonical;
      }),
    );
    this.#onEvict = onEvict;
  }

  /** Sockets holding a place now. */
  get size(): number {
    return this.#pending.size;
  }

  /** Sockets cut so far, by a deadline or to make room. */
  get evicted(): number {
    return this.#evicted;
  }

  /** A new TCP connection: makes room for it, gives it a place and its deadlines. */
  admit(socket: Socket): void {
    const peer = canonicalAddress(socket.remoteAddress ?? '') ?? 'unknown';
    const entry: Entry = { socket, address: this.#trusted.has(peer) ? null : peer, refused: false, timer: undefined };
    if (entry.address !== null) this.#makeRoomAt(entry.address);
    if (this.#pending.size >= this.#limits.maxPending) this.#evictOldest(null, 'oldest pending (maxPendingUpgrades)');
    this.#pending.set(socket, entry);
    this.#count(entry.address, 1);
    const { firstByteTimeoutMs, upgradeTimeoutMs } = this.#limits;
    const slow = () => this.#evict(entry, 'upgrade not finished within upgradeTimeoutMs');
    entry.timer =
      firstByteTimeoutMs >= upgradeTimeoutMs
        ? afterPoll(slow, upgradeTimeoutMs)
        : afterPoll(() => {
            if (socket.bytesRead === 0) this.#evict(entry, 'no byte within firstByteTimeoutMs');
            else entry.timer = afterPoll(slow, upgradeTimeoutMs - firstByteTimeoutMs);
          }, firstByteTimeoutMs);
    socket.once('close', () => this.#remove(entry));
  }

  /** The request arrived: a trusted proxy's socket now counts for the client behind it. */
  attribute(socket: Socket, req: IncomingMessage): void {
    const entry = this.#pending.get(socket);
    if (!entry || entry.address !== null) return;
    const address = this.clientAddress(req);
    this.#makeRoomAt(address, entry);
    entry.address = address;
    this.#count(address, 1);
  }

  /** The client address of a request: from X-Forwarded-For when its peer is a trusted proxy. */
  clientAddress(req: IncomingMessage): string {
    let address = canonicalAddress(req.socket.remoteAddress ?? '') ?? 'unknown';
    const header = req.headers['x-forwarded-for'];
    if (!this.#trusted.has(address) || typeof header !== 'string') return address;
    const hops = header.split(',');
    for (let i = hops.length - 1; i >= 0 && this.#trusted.has(address); i--) {
      const hop = canonicalAddress(hops[i]!.trim());
      if (!hop) break; // not an address: what lies left of it cannot be trusted either
      address = hop;
    }
    return address;
  }

  /** The place of a socket that became a tunnel is freed. */
  upgraded(socket: Socket): void {
    const entry = this.#pending.get(socket);
    if (entry) this.#remove(entry);
  }

  /** A refused WebSocket keeps its place until it closes, at most REFUSED_CLOSE_MS. */
  refused(socket: Socket): void {
    const entry = this.#pending.get(socket);
    if (!entry) return;
    entry.refused = true;
    clearTimeout(entry.timer);
    entry.timer = afterPoll(() => this.#evict(entry, 'refused WebSocket not closed in time'), REFUSED_CLOSE_MS);
  }

  /** Cuts every socket still holding a place (the bridge is stopping). */
  destroyAll(): void {
    for (const entry of [...this.#pending.values()]) {
      this.#remove(entry);
      entry.socket.destroy();
    }
  }

  /** Before `address` takes one more place: at its cap, its own oldest goes. */
  #makeRoomAt(address: string, except?: Entry): void {
    if ((this.#perAddress.get(address) ?? 0) >= this.#limits.maxPendingPerAddress) {
      this.#evictOldest(address, 'oldest of its address (maxPendingPerAddress)', except);
    }
  }

  /** Evicts the oldest entry (of `address`, if given): a refused one first, then a silent one, then any. */
  #evictOldest(address: string | null, why: EvictionReason, except?: Entry): void {
    let silent: Entry | undefined;
    let oldest: Entry | undefined;
    for (const entry of this.#pending.values()) {
      if (entry === except || (address !== null && entry.address !== address)) continue;
      if (entry.refused) return this.#evict(entry, why);
      if (!silent && entry.socket.bytesRead === 0) silent = entry;
      oldest ??= entry;
    }
    const victim = silent ?? oldest;
    if (victim) this.#evict(victim, why);
  }

  #evict(entry: Entry, why: EvictionReason): void {
    if (!this.#pending.has(entry.socket)) return;
    this.#remove(entry);
    this.#evicted++;
    entry.socket.destroy();
    this.#onEvict(entry.address ?? canonicalAddress(entry.socket.remoteAddress ?? '') ?? 'unknown', why);
  }

  #remove(entry: Entry): void {
    if (!this.#pending.delete(entry.socket)) return;
    clearTimeout(entry.timer);
    this.#count(entry.address, -1);
  }

  #count(address: string | null, delta: number): void {
    if (address === null) return;
    const n = (this.#perAddress.get(address) ?? 0) + delta;
    if (n > 0) this.#perAddress.set(address, n);
    else this.#perAddress.delete(address);
  }
}

/**
 * Runs `fn` `ms` from now, but only after the event loop has read what is waiting on its
 * sockets: after a stall (a busy loop, a slow machine) timers run before I/O, and a socket
 * whose bytes sit unread in the kernel would look silent.
 */
function afterPoll(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
  return setTimeout(() => setImmediate(fn), ms);
}

/** An IP address in one spelling (IPv4-mapped IPv6 as IPv4, IPv6 compressed, lower case), or null. */
export function canonicalAddress(text: string): string | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return isIP(mapped[1]!) === 4 ? mapped[1]! : null;
  switch (isIP(bare)) {
    case 4:
      return bare;
    case 6:
      try {
        return new URL(`http://[${bare}]`).hostname.slice(1, -1);
      } catch {
        return bare.toLowerCase(); // a zone index (fe80::1%eth0) has no URL form
      }
    default:
      return null;
  }
}
