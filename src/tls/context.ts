/**
 * SslContext: an SSL_CTX, the settings and PSK callbacks that its connections start from.
 * As in OpenSSL, a connection copies the context's callbacks when it is created; changing
 * the context later does not change existing connections.
 */
import { LOCAL, boolean, count, oneOf, string, stringOrList, type OptionSchema } from '../core/checks.js';
import { configError } from '../core/error-queue.js';
import { TlsError, describe, requireUint32 } from '../core/errors.js';
import { Lifetime } from '../core/lifetime.js';
import type { SslCtxPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';
import {
  TlsConnection,
  type ConnectionOptions,
  type KeylogCallback,
  type MessageCallback,
  type NewSessionCallback,
  type PskClientCallback,
  type PskFindSessionCallback,
  type PskServerCallback,
  type PskUseSessionCallback,
} from './connection.js';
import type { Observers } from './observers.js';
import { protocolNumber, type ProtocolVersion } from './protocol-version.js';
import { checkCallback, type PskCallbackKind, type PskCallbacks } from './psk-answers.js';

/**
 * TLS 1.3 suites a client offers unless told otherwise. ChaCha20-Poly1305 first: without AES
 * instructions, table-based AES in wasm is slower and not constant-time. All SHA-256 suites
 * come before the SHA-384 one, since an OpenSSL 1.1.1 server picks the suite before it looks
 * at the PSK and drops a PSK of another digest (see README, "PSK digests").
 */
export const DEFAULT_CLIENT_CIPHERSUITES = 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384';

/**
 * TLS 1.2 suites a client offers first, then OpenSSL's DEFAULT list. OpenSSL would lead with
 * DHE-PSK-AES256-GCM-SHA384: a 2048-bit+ finite-field exchange that costs over 100 ms in wasm,
 * and table-based AES. ECDHE-PSK (X25519) keeps forward secrecy at a fraction of the cost.
 */
export const DEFAULT_CLIENT_CIPHER_LIST = 'ECDHE-PSK-CHACHA20-POLY1305:PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256:PSK-AES128-GCM-SHA256:DEFAULT';

/** OpenSSL.createContext()'s options: the role, the SSL_CTX settings, the PSK callbacks and the observers. */
export interface ContextOptions {
  /** Which side of the handshake the context's connections take. */
  role: 'client' | 'server';
  /** Lowest protocol version: 'TLSv1.2' (default) or 'TLSv1.3'. */
  minVersion?: ProtocolVersion;
  /** Highest protocol version: 'TLSv1.3' (default) or 'TLSv1.2'. */
  maxVersion?: ProtocolVersion;
  /** TLS 1.3 suites in preference order (SSL_CTX_set_ciphersuites). */
  ciphersuites?: string | readonly string[];
  /** TLS 1.2 cipher list, OpenSSL syntax (SSL_CTX_set_cipher_list), e.g. 'PSK-AES128-GCM-SHA256'. */
  cipherList?: string | readonly string[];
  /** Key exchange groups in preference order (SSL_CTX_set1_groups_list), e.g. ['X25519', 'P-256']. */
  groups?: string | readonly string[];
  /** SSL_OP_ALLOW_NO_DHE_KEX: allow TLS 1.3 psk_ke (PSK without (EC)DHE). */
  allowNoDheKex?: boolean;
  /** SSL_OP_CIPHER_SERVER_PREFERENCE: a server picks by its own order. */
  serverPreference?: boolean;
  /** Server: early data accepted per connection, in bytes (SSL_CTX_set_max_early_data). */
  maxEarlyData?: number;
  /** Server: TLS 1.3 session tickets sent after a handshake (SSL_CTX_set_num_tickets); OpenSSL's default is 2. */
  numTickets?: number;
  /**
   * TLS 1.3: put the suites of the PSK's digest first (client) or keep only those (server),
   * so SHA-256 and SHA-384 PSKs work with any peer; see README, "PSK digests". Default true;
   * false gives OpenSSL 1.1.1's own behaviour, which drops a PSK whose digest differs from
   * the suite it picked.
   */
  pskDigestFirst?: boolean;
  /** PEM certificate chain, leaf first: for certificate-authenticated handshakes. */
  certificate?: string;
  /** PEM private key of the certificate (unencrypted). */
  privateKey?: string;
  /** PEM CA certificate(s) to verify the peer's certificate against. */
  ca?: string;
  /**
   * Verify the peer's certificate when one is used (never for PSK handshakes). Default: true
   * for clients (a client with no CA then refuses every certificate), false for servers
   * (true requires client certificates).
   */
  verify?: boolean;
  /** Server: SSL_CTX_use_psk_identity_hint. */
  pskIdentityHint?: string;
  /** SSL_CTX_set_psk_use_session_callback. */
  pskUseSession?: PskUseSessionCallback;
  /** SSL_CTX_set_psk_client_callback. */
  pskClient?: PskClientCallback;
  /** SSL_CTX_set_psk_find_session_callback. */
  pskFindSession?: PskFindSessionCallback;
  /** SSL_CTX_set_psk_server_callback. */
  pskServer?: PskServerCallback;
  /**
   * Server, TLS 1.3: look PSKs up asynchronously. When a ClientHello offers PSK identities,
   * handshake() returns 'want-psk' and waits: answer `conn.pskWanted` with
   * `conn.providePsk(identity, answer)` and call handshake() again (built on the ClientHello
   * callback's SSL_CLIENT_HELLO_RETRY; OpenSSL's find-session callback is then answered from
   * what was provided). Excludes pskFindSession and pskServer. TLS 1.3 only: a ClientHello
   * offering TLS 1.2 at most is refused with a protocol_version alert (ERR_PROTOCOL_VERSION),
   * unless the server has a certificate. acceptTls()'s `findPsk` uses it.
   */
  deferPskLookup?: boolean;
  /**
   * SSL_CTX_set_keylog_callback: each NSS key log line (SSLKEYLOGFILE format), for decrypting a
   * capture in Wireshark. These are secrets: set it only to debug.
   */
  onKeylog?: KeylogCallback;
  /** SSL_CTX_set_msg_callback: each protocol message and record header (see describeMessage). */
  onMessage?: MessageCallback;
  /** SSL_CTX_sess_set_new_cb: each new session (TLS 1.3: each ticket), the callback's to keep or free(). */
  onNewSession?: NewSessionCallback;
}

const version = oneOf<ProtocolVersion>('TLSv1.2', 'TLSv1.3');

/**
 * Every ContextOptions name, once (see OptionSchema): the check of its value where it may come
 * from the page to the TLS worker, LOCAL for the role (a worker socket's method gives it) and
 * the callbacks (code does not cross).
 */
export const CONTEXT_OPTIONS = {
  role: LOCAL,
  minVersion: version,
  maxVersion: version,
  ciphersuites: stringOrList,
  cipherList: stringOrList,
  groups: stringOrList,
  allowNoDheKex: boolean,
  serverPreference: boolean,
  maxEarlyData: count,
  numTickets: count,
  pskDigestFirst: boolean,
  certificate: string,
  privateKey: string,
  ca: string,
  verify: boolean,
  pskIdentityHint: string,
  pskUseSession: LOCAL,
  pskClient: LOCAL,
  pskFindSession: LOCAL,
  pskServer: LOCAL,
  deferPskLookup: LOCAL,
  onKeylog: LOCAL,
  onMessage: LOCAL,
  onNewSession: LOCAL,
} satisfies { [K in keyof ContextOptions]-?: OptionSchema[string] };

/**
 * An SSL_CTX: the settings and callbacks its connections copy when they are created. Made by
 * {@link OpenSSL.createContext} (see its example); free() it when done, or pass it to
 * connectTls()/acceptTls() as `context`.
 */
export class SslContext extends Lifetime {
  /** Which side of the handshake its connections take. */
  readonly role: 'client' | 'server';
  readonly #rt: Runtime;
  readonly #ctx: SslCtxPtr;
  readonly #callbacks: PskCallbacks<TlsConnection> = { useSession: null, client: null, findSession: null, server: null };
  readonly #observers: Observers<TlsConnection> = { keylog: null, message: null, newSession: null };
  #pskDigestFirst = true;
  /** deferPskLookup: the early data a session made from a `{ key }` answer allows (the context's maxEarlyData). */
  #deferPskLookup: { maxEarlyData: number } | null = null;

  /** @internal Use OpenSSL.createContext(). */
  constructor(rt: Runtime, options: ContextOptions) {
    checkOptions(options);
    super('SslContext');
    this.role = options.role;
    this.#rt = rt;
    let ctx: SslCtxPtr;
    try {
      ctx = rt.shim.ctxNew(this.role === 'server' ? 1 : 0);
    } catch (error) {
      this.disown(); // e.g. ERR_WASM_TRAP on an instance that trapped before: nothing was made
      throw error;
    }
    if (ctx === 0) {
      this.disown();
      throw configError(rt, 'ERR_CONFIG', 'SSL_CTX_new failed');
    }
    this.#ctx = ctx;
    try {
      this.#configure(options);
    } catch (error) {
      this.free();
      throw error;
    }
  }

  #configure(o: ContextOptions): void {
    const rt = this.#rt;
    const shim = rt.shim;
    const min = protocolNumber(o.minVersion ?? 'TLSv1.2', 'minVersion');
    const max = protocolNumber(o.maxVersion ?? 'TLSv1.3', 'maxVersion');
    if (min > max) throw new TlsError('ERR_INVALID_ARGUMENT', `minVersion ${o.minVersion} is above maxVersion ${o.maxVersion}`);
    this.#check(shim.ctxSetVersions(this.#ctx, min, max), 'the protocol version range');

    const suites = o.ciphersuites ?? (this.role === 'client' ? DEFAULT_CLIENT_CIPHERSUITES : undefined);
    if (suites !== undefined) this.#setList('ciphersuites', suites, shim.ctxSetCiphersuites);
    const cipherList = o.cipherList ?? (this.role === 'client' ? DEFAULT_CLIENT_CIPHER_LIST : undefined);
    if (cipherList !== undefined) this.#setList('cipherList', cipherList, shim.ctxSetCipherList);
    if (o.groups !== undefined) this.#setList('groups', o.groups, shim.ctxSetGroups);
    if (o.allowNoDheKex !== undefined) shim.ctxSetAllowNoDheKex(this.#ctx, flag(o.allowNoDheKex, 'allowNoDheKex'));
    if (o.serverPreference !== undefined) shim.ctxSetServerPreference(this.#ctx, flag(o.serverPreference, 'serverPreference'));
    if (o.maxEarlyData !== undefined) {
      requireUint32(o.maxEarlyData, 'maxEarlyData');
      this.#check(shim.ctxSetMaxEarlyData(this.#ctx, o.maxEarlyData), 'maxEarlyData');
    }
    if (o.numTickets !== undefined) {
      requireUint32(o.numTickets, 'numTickets');
      this.#check(shim.ctxSetNumTickets(this.#ctx, o.numTickets), 'numTickets');
    }
    if (o.pskDigestFirst !== undefined) this.#pskDigestFirst = flag(o.pskDigestFirst, 'pskDigestFirst') === 1;
    if (o.deferPskLookup !== undefined && flag(o.deferPskLookup, 'deferPskLookup') === 1) {
      checkDeferredLookup(o);
      this.#deferPskLookup = { maxEarlyData: o.maxEarlyData ?? 0 };
    }
    if (o.certificate !== undefined) this.#usePem('certificate', o.certificate, shim.ctxUseCertificateChainPem);
    if (o.privateKey !== undefined) this.#usePem('privateKey', o.privateKey, shim.ctxUsePrivateKeyPem);
    if (o.ca !== undefined) this.#usePem('ca', o.ca, shim.ctxAddCaPem);
    shim.ctxSetVerifyPeer(this.#ctx, flag(o.verify ?? this.role === 'client', 'verify'));
    if (o.pskIdentityHint !== undefined) this.usePskIdentityHint(o.pskIdentityHint);
    if (o.pskUseSession !== undefined) this.setPskUseSessionCallback(o.pskUseSession);
    if (o.pskClient !== undefined) this.setPskClientCallback(o.pskClient);
    if (o.pskFindSession !== undefined) this.setPskFindSessionCallback(o.pskFindSession);
    if (o.pskServer !== undefined) this.setPskServerCallback(o.pskServer);
    if (o.onKeylog !== undefined) this.setKeylogCallback(o.onKeylog);
    if (o.onMessage !== undefined) this.setMessageCallback(o.onMessage);
    if (o.onNewSession !== undefined) this.setNewSessionCallback(o.onNewSession);
  }

  /** True if its connections look PSKs up asynchronously (ContextOptions.deferPskLookup). */
  get deferPskLookup(): boolean {
    return this.#deferPskLookup !== null;
  }

  #check(ok: number, what: string): void {
    if (!ok) throw configError(this.#rt, 'ERR_CONFIG', `${what} was refused`);
  }

  #setList(what: string, list: unknown, set: (ctx: SslCtxPtr, list: never) => number): void {
    const text = Array.isArray(list) && list.every((x) => typeof x === 'string') ? list.join(':') : list;
    if (typeof text !== 'string' || text === '') {
      throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be a non-empty string or array of strings, got ${describe(list)}`);
    }
    const ok = this.#rt.heap.withCString(text, (s) => set(this.#ctx, s as never));
    if (!ok) throw configError(this.#rt, 'ERR_CONFIG', `${what} ${JSON.stringify(text)} matched nothing this build supports`);
  }

  #usePem(what: string, pem: unknown, use: (ctx: SslCtxPtr, pem: never, len: number) => number): void {
    if (typeof pem !== 'string') throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be a PEM string, got ${describe(pem)}`);
    if (!this.#rt.certificates) {
      throw new TlsError(
        'ERR_FULL_BUILD_REQUIRED',
        `\`${what}\` needs certificates, which the PSK build of openssl-psk-wasm leaves out: import from 'openssl-psk-wasm/full' instead (the same API on the full build)`,
      );
    }
    const ok = this.#rt.heap.withCString(pem, (s, len) => use(this.#ctx, s as never, len));
    if (!ok) throw configError(this.#rt, 'ERR_CERTIFICATE', `${what} could not be loaded`);
  }

  /** SSL_CTX_use_psk_identity_hint (server, TLS 1.2): at most 128 bytes. */
  usePskIdentityHint(hint: string): void {
    this.assertLive();
    if (typeof hint !== 'string') throw new TlsError('ERR_INVALID_ARGUMENT', `the identity hint must be a string, got ${describe(hint)}`);
    const rt = this.#rt;
    const ok = rt.heap.withCString(hint, (s, len) => (len > 128 ? -1 : rt.shim.ctxUsePskIdentityHint(this.#ctx, s)));
    if (ok === -1) {
      throw new TlsError('ERR_PSK_IDENTITY_TOO_LONG', 'the PSK identity hint is longer than 128 bytes (PSK_MAX_IDENTITY_LEN)');
    }
    if (!ok) throw configError(rt, 'ERR_CONFIG', 'SSL_CTX_use_psk_identity_hint failed');
  }

  /** SSL_CTX_set_psk_use_session_callback (client, TLS 1.3); null removes it. */
  setPskUseSessionCallback(cb: PskUseSessionCallback | null): void {
    this.#setCallback('useSession', cb, this.#rt.shim.ctxSetPskUseSessionCallback);
  }

  /** SSL_CTX_set_psk_client_callback (client, TLS 1.2 and TLS 1.3); null removes it. */
  setPskClientCallback(cb: PskClientCallback | null): void {
    this.#setCallback('client', cb, this.#rt.shim.ctxSetPskClientCallback);
  }

  /** SSL_CTX_set_psk_find_session_callback (server, TLS 1.3); null removes it. */
  setPskFindSessionCallback(cb: PskFindSessionCallback | null): void {
    this.#setCallback('findSession', cb, this.#rt.shim.ctxSetPskFindSessionCallback);
  }

  /** SSL_CTX_set_psk_server_callback (server, TLS 1.2 and TLS 1.3); null removes it. */
  setPskServerCallback(cb: PskServerCallback | null): void {
    this.#setCallback('server', cb, this.#rt.shim.ctxSetPskServerCallback);
  }

  #setCallback(kind: PskCallbackKind, cb: unknown, set: (ctx: SslCtxPtr, on: number) => void): void {
    this.assertLive();
    checkCallback(cb, kind);
    if (cb && this.#deferPskLookup && (kind === 'findSession' || kind === 'server')) {
      throw new TlsError(
        'ERR_INVALID_ARGUMENT',
        `this context looks PSKs up asynchronously (deferPskLookup): it takes no ${kind === 'server' ? 'pskServer' : 'pskFindSession'} callback`,
      );
    }
    (this.#callbacks as Record<PskCallbackKind, unknown>)[kind] = cb;
    set(this.#ctx, cb ? 1 : 0);
  }

  /** SSL_CTX_set_keylog_callback; null removes it. Key log lines are secrets. */
  setKeylogCallback(cb: KeylogCallback | null): void {
    this.#setObserver('keylog', cb, this.#rt.shim.ctxSetKeylog);
  }

  /** SSL_CTX_set_msg_callback; null removes it. */
  setMessageCallback(cb: MessageCallback | null): void {
    this.#setObserver('message', cb, this.#rt.shim.ctxSetMsgCallback);
  }

  /** SSL_CTX_sess_set_new_cb; null removes it. */
  setNewSessionCallback(cb: NewSessionCallback | null): void {
    this.#setObserver('newSession', cb, this.#rt.shim.ctxSetNewSessionCallback);
  }

  #setObserver(kind: keyof Observers<TlsConnection>, cb: unknown, set: (ctx: SslCtxPtr, on: number) => void): void {
    this.assertLive();
    if (cb !== null && typeof cb !== 'function') {
      throw new TlsError('ERR_INVALID_ARGUMENT', `the ${kind} callback must be a function or null, got ${describe(cb)}`);
    }
    (this.#observers as Record<keyof Observers<TlsConnection>, unknown>)[kind] = cb;
    set(this.#ctx, cb ? 1 : 0);
  }

  /** SSL_new with two memory BIOs: a sans-IO connection with this context's settings. */
  createConnection(options: ConnectionOptions = {}): TlsConnection {
    this.assertLive();
    const rt = this.#rt;
    const ssl = rt.shim.connNew(this.#ctx);
    if (ssl === 0) throw configError(rt, 'ERR_CONFIG', 'SSL_new failed');
    const conn = new TlsConnection(rt, ssl, this.#callbacks, this.#observers, this.#pskDigestFirst, this.#deferPskLookup);
    try {
      conn.configure(options);
    } catch (error) {
      conn.free();
      throw error;
    }
    return conn;
  }

  /** Frees this context; its connections keep working (each holds a reference to the SSL_CTX). */
  protected release(): void {
    this.#rt.shim.ctxFree(this.#ctx);
  }
}

function checkOptions(options: ContextOptions): void {
  if (!options || typeof options !== 'object') {
    throw new TlsError('ERR_INVALID_ARGUMENT', `createContext() takes an options object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(CONTEXT_OPTIONS, key)) {
      throw new TlsError('ERR_INVALID_ARGUMENT', `unknown context option ${JSON.stringify(key)}; known: ${Object.keys(CONTEXT_OPTIONS).join(', ')}`);
    }
  }
  if (options.role !== 'client' && options.role !== 'server') {
    throw new TlsError('ERR_INVALID_ARGUMENT', `role must be 'client' or 'server', got ${describe(options.role)}`);
  }
}

/** deferPskLookup is a TLS 1.3 server's, and replaces the synchronous server callbacks. */
function checkDeferredLookup(o: ContextOptions): void {
  if (o.role !== 'server') throw new TlsError('ERR_INVALID_ARGUMENT', 'deferPskLookup is for servers (role: server)');
  const sync = (['pskFindSession', 'pskServer'] as const).filter((name) => o[name] !== undefined && o[name] !== null);
  if (sync.length > 0) {
    throw new TlsError(
      'ERR_INVALID_ARGUMENT',
      `deferPskLookup (an asynchronous lookup, e.g. acceptTls's findPsk) excludes the synchronous ${sync.join(' and ')}: give one or the other`,
    );
  }
  if (o.maxVersion === 'TLSv1.2') {
    throw new TlsError('ERR_INVALID_ARGUMENT', "deferPskLookup works for TLS 1.3 only, and maxVersion is 'TLSv1.2'");
  }
}

function flag(value: unknown, what: string): number {
  if (typeof value !== 'boolean') throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be true or false, got ${describe(value)}`);
  return value ? 1 : 0;
}
