/**
 * What a vault's three parties say besides the TLS worker's calls (../worker/protocol.ts):
 *
 *   vault frame → page (window)    { type: READY }                   the vault listens
 *   page → vault frame (window)    { type: CONNECT } + a MessagePort  sent to the vault's origin only
 *   vault worker → page (the port) { vault: 'connected', storage }    then the worker's calls and replies
 *   vault frame → page (the port)  { vault: 'refused', message }      an origin not in the allow-list
 *   vault frame → page (window)    { type: PAIRED, identity }         a key typed into the vault's own form
 *   vault frame → page (window)    { type: GONE, reason }             the vault's worker crashed
 *   vault frame → vault worker     { vault: VaultSetup } + the port   first message, from the frame only
 *   vault frame → vault worker     { pair: PairRequest }              the vault's form, never the page
 *
 * A page checks that window messages come from the vault's frame and origin; a vault frame
 * answers CONNECT only from its parent, from an origin its configuration lists, once.
 */

export const READY = 'openssl-psk-vault/ready';
export const CONNECT = 'openssl-psk-vault/connect';
export const PAIRED = 'openssl-psk-vault/paired';
export const GONE = 'openssl-psk-vault/gone';

/** Where a store is and whom it serves: given to the vault worker by its frame (or by a same-origin page). */
export interface VaultSetup {
  /** The page origin the worker serves (checked by the frame: MessageEvent.origin). */
  origin: string;
  /** The IndexedDB database name. */
  database: string;
  /** Owner origin → page origins that may use its keys. */
  share?: Record<string, string[]>;
  /** The module's URL, from the vault's configuration. */
  wasmUrl?: string;
}

/** A key typed into the vault's own form. */
export interface PairRequest {
  identity: string;
  /** Hex, or a passphrase with `salt` (PBKDF2 with the worker's defaults). */
  hex?: string;
  passphrase?: string;
  salt?: string;
  cipher?: string;
}

/** How a worker's keys are kept (TlsWorker.storage). */
export interface StorageInfo {
  /** True if saved keys outlive the worker (IndexedDB opened); false: memory only, for this worker. */
  persistent: boolean;
  /** Why not persistent: IndexedDB's failure (an ERR_STORAGE message). */
  error?: string;
  /**
   * What navigator.storage.persisted() said in the vault (true: not evicted under storage
   * pressure without the user's consent); null where the engine has no StorageManager there.
   */
  persisted: boolean | null;
}
