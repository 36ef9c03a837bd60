/**
 * The vault page's script (dist/browser/vault.js, loaded by vault.html on the vault's own
 * origin, inside a page's iframe). It reads the allow-list from vault.html's configuration,
 * answers one CONNECT from its parent window if the parent's origin is listed, starts the vault
 * worker (./vault-worker.ts) with that origin and hands it the page's port. It also runs the
 * vault's own pairing form: a key typed there goes to the worker from this frame and never
 * passes through the page. See ./messages.ts for the whole exchange.
 */
import { textOf } from '../core/errors.js';
import { CONNECT, GONE, PAIRED, READY, type PairRequest, type VaultSetup } from './messages.js';

/** vault.html's <script type="application/json" id="openssl-psk-vault-config">, edited by whoever hosts it. */
interface VaultConfig {
  /** Page origins that may connect (exact, e.g. 'https://app.example'). */
  origins: string[];
  /** Owner origin → other page origins that may use its keys (default: each origin uses only its own). */
  share?: Record<string, string[]>;
  /** The worker script (default: vault-worker.js beside this script). */
  worker?: string;
  /** The module (default: beside the worker script). */
  wasmUrl?: string;
  /** The IndexedDB database (default 'openssl-psk-vault'). */
  database?: string;
}

function readConfig(): VaultConfig {
  const node = document.getElementById('openssl-psk-vault-config');
  const parsed = JSON.parse(node?.textContent ?? '{}') as Partial<VaultConfig>;
  const origins = Array.isArray(parsed.origins) ? parsed.origins.filter((o): o is string => typeof o === 'string') : [];
  return { ...parsed, origins };
}

const status = (text: string): void => {
  const node = document.getElementById('status');
  if (node) node.textContent = text;
};

let worker: Worker | null = null;
let pageOrigin: string | null = null;

function connect(config: VaultConfig, event: MessageEvent): void {
  const port = event.ports[0];
  if (!port) return;
  const refuse = (message: string): void => {
    port.postMessage({ vault: 'refused', message });
    port.close();
  };
  if (!config.origins.includes(event.origin)) {
    status(`refused ${event.origin}: not in this vault's allow-list`);
    return refuse(`this vault does not serve ${event.origin}: its configuration (vault.html, "origins") must list it`);
  }
  if (worker) return refuse('this vault frame is connected already: create another (createTlsWorker({ vault }) makes one frame per worker)');
  pageOrigin = event.origin;
  const url = new URL(config.worker ?? new URL('./vault-worker.js', import.meta.url).href, location.href);
  worker = new Worker(url, { type: 'module' });
  const setup: VaultSetup = { origin: event.origin, database: config.database ?? 'openssl-psk-vault' };
  if (config.share) setup.share = config.share;
  if (config.wasmUrl) setup.wasmUrl = new URL(config.wasmUrl, location.href).href;
  worker.postMessage({ vault: setup }, [port]);
  const origin = event.origin;
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    window.parent.postMessage({ type: GONE, reason: `the vault's worker crashed: ${e.message || 'its script failed'}` }, origin);
  });
  worker.addEventListener('message', (e) => {
    const data = e.data as { paired?: string; pairFailed?: string; message?: string } | null;
    if (typeof data?.paired === 'string') {
      status(`paired: ${data.paired}`);
      window.parent.postMessage({ type: PAIRED, identity: data.paired }, origin);
    } else if (typeof data?.pairFailed === 'string') {
      status(`not paired: ${data.message ?? ''}`);
    }
  });
  status(`serving ${event.origin}`);
  const form = document.getElementById('pair') as HTMLFormElement | null;
  if (form) form.hidden = false;
}

/** The pairing form: identity and a hex key, or a passphrase and salt. */
function wireForm(): void {
  const form = document.getElementById('pair') as HTMLFormElement | null;
  if (!form) return;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!worker) return status('not connected to a page yet');
    const field = (name: string): string => (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '';
    const pair: PairRequest = { identity: field('identity') };
    if (field('kind') === 'passphrase') {
      pair.passphrase = field('secret');
      pair.salt = field('salt');
    } else pair.hex = field('secret');
    worker.postMessage({ pair });
    const secret = form.elements.namedItem('secret') as HTMLInputElement | null;
    if (secret) secret.value = '';
    status(`pairing ${pair.identity} for ${pageOrigin ?? ''}…`);
  });
}

try {
  const config = readConfig();
  wireForm();
  window.addEventListener('message', (event) => {
    // Only the embedding page, and only its CONNECT: a message from any other window (an
    // opener, a sibling frame) or of any other shape is ignored.
    if (window.parent === window || event.source !== window.parent) return;
    if ((event.data as { type?: unknown } | null)?.type !== CONNECT) return;
    connect(config, event);
  });
  if (window.parent !== window)
    window.parent.postMessage({ type: READY }, '*'); // carries nothing
  else status('This is a key vault: it works inside the page that embeds it.');
} catch (error) {
  status(`the vault could not start: ${textOf(error)}`);
}
