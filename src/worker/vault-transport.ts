/**
 * The page's end of a key vault (createTlsWorker({ vault })) and of a same-origin store
 * (createTlsWorker({ store })): either gives a PlatformWorker whose calls travel on a
 * MessagePort to the vault worker (../vault/vault-worker.ts), so ./client.ts works unchanged.
 *
 * Vault: an iframe of the vault's URL; its READY is taken only from that frame's window and the
 * vault's origin; CONNECT and the port go to the vault's origin only (postMessage's
 * targetOrigin: a frame navigated elsewhere gets nothing); then the first message on the port
 * says 'connected' (with how keys are kept) or 'refused'. Afterwards the page still listens to
 * the frame, from the vault's origin only, for PAIRED and GONE; a frame that loads again
 * (navigated) or leaves the document ends the worker.
 */
import { TlsError } from '../core/errors.js';
import { CONNECT, GONE, PAIRED, READY, type StorageInfo, type VaultSetup } from '../vault/messages.js';
import type { PlatformWorker } from './client.js';

/** A worker reached over a port, and how it keeps keys. */
export interface PortWorker {
  platform: PlatformWorker;
  storage: StorageInfo;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The 'connected' (or 'refused') message first on `port`, within `timeoutMs`. */
function connected(port: MessagePort, timeoutMs: number, what: string, abandon: Promise<TlsError>): Promise<StorageInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TlsError('ERR_VAULT', `${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    void abandon.then((error) => (clearTimeout(timer), reject(error)));
    const listener = (event: MessageEvent): void => {
      const data = event.data as { vault?: unknown; storage?: StorageInfo; message?: unknown } | null;
      if (data?.vault === 'connected' && data.storage) {
        clearTimeout(timer);
        port.removeEventListener('message', listener);
        resolve(data.storage);
      } else if (data?.vault === 'refused') {
        clearTimeout(timer);
        reject(new TlsError('ERR_VAULT', `${what} refused this page: ${String(data.message).slice(0, 300)}`));
      }
    };
    port.addEventListener('message', listener);
    port.start();
  });
}

/** The PlatformWorker over `port`; `watch` is told of the vault's end by `onGone`. */
function overPort(port: MessagePort, onGone: (listener: (reason: string) => void) => void, stop: () => void): PlatformWorker {
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    onMessage: (listener) => port.addEventListener('message', (event) => listener(event.data)),
    watch: onGone,
    terminate: () => {
      port.close();
      stop();
    },
  };
}

export interface VaultOptions {
  /** Where the iframe goes (default: a hidden one at the end of document.body). Shown if given: the vault's pairing form is in it. */
  vaultParent?: HTMLElement | undefined;
  /** Called when a key is paired in the vault's own form (its identity only). */
  onPaired?: ((identity: string) => void) | undefined;
  /** How long to wait for the vault (default 30 000 ms). */
  timeoutMs?: number | undefined;
}

/** Opens the vault at `url` in an iframe and connects to its worker. */
export async function openVault(url: string | URL, options: VaultOptions = {}): Promise<PortWorker> {
  if (typeof document === 'undefined' || typeof window === 'undefined') {
    throw new TlsError('ERR_VAULT', 'a vault runs in an iframe: createTlsWorker({ vault }) needs a page (a window with a document)');
  }
  let href: URL;
  try {
    href = new URL(url, location.href);
  } catch (error) {
    throw new TlsError('ERR_INVALID_ARGUMENT', 'vault must be a URL', { cause: error });
  }
  if (href.origin === location.origin || href.origin === 'null') {
    throw new TlsError('ERR_VAULT', `the vault must be on an origin of its own, not ${href.origin} (on the page's origin it protects nothing: use { store })`);
  }
  const vaultOrigin = href.origin;
  const what = `the vault at ${href.href}`;
  const iframe = document.createElement('iframe');
  iframe.title = 'PSK vault';
  if (!options.vaultParent) iframe.style.display = 'none';
  const goneListeners: ((reason: string) => void)[] = [];
  let goneReason: string | null = null;
  const gone = (reason: string): void => {
    if (goneReason !== null) return;
    goneReason = reason;
    for (const listener of goneListeners) listener(reason);
  };
  let abandon!: (error: TlsError) => void;
  const abandoned = new Promise<TlsError>((resolve) => (abandon = resolve));
  let loads = 0;
  let ready!: () => void;
  const readied = new Promise<void>((resolve) => (ready = resolve));
  const onWindowMessage = (event: MessageEvent): void => {
    // Only the vault's frame, at the vault's origin: anything else (the page's own scripts,
    // other frames, the frame navigated elsewhere) is ignored.
    if (event.source !== iframe.contentWindow || event.origin !== vaultOrigin) return;
    const data = event.data as { type?: unknown; identity?: unknown; reason?: unknown } | null;
    if (data?.type === READY) ready();
    else if (data?.type === PAIRED && typeof data.identity === 'string') options.onPaired?.(data.identity);
    else if (data?.type === GONE) gone(String(data.reason).slice(0, 300));
  };
  window.addEventListener('message', onWindowMessage);
  iframe.addEventListener('load', () => {
    if (++loads > 1) gone('the vault frame was navigated away (or reloaded)');
  });
  // A frame taken out of the document takes the vault's worker with it, without a word.
  const removal = new MutationObserver(() => {
    if (!iframe.isConnected) gone('the vault frame was removed from the page');
  });
  const stop = (): void => {
    removal.disconnect();
    window.removeEventListener('message', onWindowMessage);
    iframe.remove();
  };
  iframe.src = href.href;
  (options.vaultParent ?? document.body).append(iframe);
  removal.observe(document, { childList: true, subtree: true });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const timer = setTimeout(() => abandon(new TlsError('ERR_VAULT', `${what} did not load within ${timeoutMs} ms (is it served, from that URL?)`)), timeoutMs);
    await Promise.race([readied, abandoned.then((e) => Promise.reject(e))]);
    clearTimeout(timer);
    const { port1, port2 } = new MessageChannel();
    iframe.contentWindow?.postMessage({ type: CONNECT }, vaultOrigin, [port2]);
    const storage = await connected(port1, timeoutMs, what, abandoned);
    const platform = overPort(
      port1,
      (listener) => {
        goneListeners.push(listener);
        if (goneReason !== null) listener(goneReason);
      },
      stop,
    );
    return { platform, storage };
  } catch (error) {
    stop();
    throw error;
  }
}

/** Starts the store worker from `worker` (a same-origin script) with the page's own origin. */
export async function openStore(worker: Worker, database: string, options: { timeoutMs?: number } = {}): Promise<PortWorker> {
  const { port1, port2 } = new MessageChannel();
  let abandon!: (error: TlsError) => void;
  const abandoned = new Promise<TlsError>((resolve) => (abandon = resolve));
  const goneListeners: ((reason: string) => void)[] = [];
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    const reason = `the store's worker crashed: ${event.message || 'its script failed to load'}`;
    abandon(new TlsError('ERR_WORKER_GONE', reason));
    for (const listener of goneListeners) listener(reason);
  });
  const setup: VaultSetup = { origin: location.origin, database };
  worker.postMessage({ vault: setup }, [port2]);
  try {
    const storage = await connected(port1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'the store worker', abandoned);
    return {
      platform: overPort(
        port1,
        (listener) => goneListeners.push(listener),
        () => worker.terminate(),
      ),
      storage,
    };
  } catch (error) {
    worker.terminate();
    throw error;
  }
}
