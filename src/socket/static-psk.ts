/**
 * Static PSKs for the socket API: `{ identity, key, cipher? }` turned into the callbacks of
 * the core API, for TLS 1.3 (a session whose suite gives the PSK's digest) and TLS 1.2
 * (the key itself), and the context a socket (or the s_server command) builds from its
 * options with them. The sessions made here belong to whoever builds the context.
 */
import { TlsError, describe } from '../core/errors.js';
import type { ContextOptions, SslContext } from '../tls/context.js';
import type { OpenSSL } from '../tls/openssl.js';
import { keyLength, type KeyMaterial } from '../tls/secret.js';
import { MAX_MASTER_KEY_LENGTH, type SslSession } from '../tls/session.js';
import { contextOptionsOf, type TlsSocketOptions } from './socket-options.js';

/** A static PSK for connectTls()/acceptTls()'s `psk` option: an identity and its key. */
export interface StaticPsk {
  /** The PSK identity. */
  identity: string;
  /** The key (bytes, or a SecretKey): up to 48 bytes for TLS 1.3 (OpenSSL 1.1.1's limit), up to 256 for TLS 1.2 only. */
  key: KeyMaterial;
  /**
   * TLS 1.3: a suite of the PSK's hash, default 'TLS_AES_128_GCM_SHA256' (a SHA-256 PSK, what
   * `openssl s_server -psk`, GnuTLS and Node use); 'TLS_AES_256_GCM_SHA384' for a SHA-384 PSK.
   */
  cipher?: string;
}

type PskCallbackOptions = Pick<ContextOptions, 'pskUseSession' | 'pskClient' | 'pskFindSession' | 'pskServer'>;

interface StaticPskSetup {
  callbacks: PskCallbackOptions;
  sessions: SslSession[];
}

const DEFAULT_PSK_SUITE = 'TLS_AES_128_GCM_SHA256';

/**
 * Callbacks serving `psks`. `maxEarlyData`: how much early data the sessions allow (the
 * client's, to send; the server's, to accept).
 */
function staticPskCallbacks(
  ossl: OpenSSL,
  role: 'client' | 'server',
  psks: StaticPsk | readonly StaticPsk[],
  { tls13, maxEarlyData }: { tls13: boolean; maxEarlyData: number },
): StaticPskSetup {
  const list = (Array.isArray(psks) ? psks : [psks]) as readonly StaticPsk[];
  if (list.length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'psk must name at least one { identity, key }');
  if (role === 'client' && list.length > 1) throw new TlsError('ERR_INVALID_ARGUMENT', 'a client offers one static PSK; use the callbacks for more');
  for (const psk of list) checkPsk(psk, tls13);

  const sessions: SslSession[] = [];
  const byIdentity = new Map<string, { key: KeyMaterial; session: SslSession | null }>();
  try {
    for (const psk of list) {
      const session = tls13 ? ossl.createPskSession({ masterKey: psk.key, cipher: psk.cipher ?? DEFAULT_PSK_SUITE, maxEarlyData }) : null;
      if (session) sessions.push(session);
      byIdentity.set(psk.identity, { key: psk.key, session });
    }
  } catch (error) {
    for (const session of sessions) session.free();
    throw error;
  }

  if (role === 'client') {
    const [{ identity, key }] = list as [StaticPsk];
    const session = byIdentity.get(identity)!.session;
    return {
      sessions,
      callbacks: {
        ...(session ? { pskUseSession: () => ({ identity, session }) } : {}),
        pskClient: () => ({ identity, psk: key }),
      },
    };
  }
  const decoder = new TextDecoder();
  return {
    sessions,
    callbacks: {
      pskFindSession: (conn, identity) => byIdentity.get(decoder.decode(identity))?.session ?? null,
      pskServer: (conn, identity) => byIdentity.get(identity)?.key ?? null,
    },
  };
}

/**
 * The context a socket with these options runs on: its context options, with `psk` (if given)
 * as the PSK callbacks. Its TLS 1.3 PSK sessions allow `earlyData` bytes of early data (a
 * client's), or the context's maxEarlyData (a server's). Free the context, then the sessions.
 */
export function staticPskContext(ossl: OpenSSL, role: 'client' | 'server', options: TlsSocketOptions): { context: SslContext; sessions: SslSession[] } {
  const contextOptions = contextOptionsOf(options);
  if (options.findPsk !== undefined) return { context: lookupContext(ossl, role, options, contextOptions), sessions: [] };
  if (options.psk === undefined) return { context: ossl.createContext({ ...contextOptions, role }), sessions: [] };
  const setup = staticPskCallbacks(ossl, role, options.psk, {
    tls13: contextOptions.maxVersion !== 'TLSv1.2',
    maxEarlyData: role === 'client' ? (options.earlyData?.length ?? 0) : (contextOptions.maxEarlyData ?? 0),
  });
  try {
    return { context: ossl.createContext({ ...contextOptions, ...setup.callbacks, role }), sessions: setup.sessions };
  } catch (error) {
    for (const session of setup.sessions) session.free();
    throw error;
  }
}

/** The context of a server with findPsk: a deferred lookup (deferPskLookup), no synchronous PSK. */
function lookupContext(ossl: OpenSSL, role: 'client' | 'server', options: TlsSocketOptions, contextOptions: Omit<ContextOptions, 'role'>): SslContext {
  if (typeof options.findPsk !== 'function') throw new TlsError('ERR_INVALID_ARGUMENT', `findPsk must be an async function, got ${describe(options.findPsk)}`);
  if (role !== 'server') throw new TlsError('ERR_INVALID_ARGUMENT', 'findPsk is for acceptTls(); a client names its PSK with psk or pskUseSession');
  const sync = (['psk', 'pskFindSession', 'pskServer'] as const).filter((name) => options[name] !== undefined && options[name] !== null);
  if (sync.length > 0) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `findPsk (an asynchronous lookup) excludes the synchronous ${sync.join(' and ')}: give one or the other`);
  }
  return ossl.createContext({ ...contextOptions, deferPskLookup: true, role });
}

function checkPsk(psk: StaticPsk, tls13: boolean): void {
  if (!psk || typeof psk !== 'object' || typeof psk.identity !== 'string' || psk.identity === '') {
    throw new TlsError('ERR_INVALID_ARGUMENT', `psk must be { identity: non-empty string, key: Uint8Array }, got ${describe(psk)}`);
  }
  const length = keyLength(psk.key, 'psk.key');
  if (length === 0) throw new TlsError('ERR_INVALID_ARGUMENT', 'psk.key is empty');
  if (tls13 && length > MAX_MASTER_KEY_LENGTH) {
    throw new TlsError(
      'ERR_PSK_KEY_TOO_LONG',
      `psk.key is ${length} bytes; a TLS 1.3 PSK holds at most ${MAX_MASTER_KEY_LENGTH} in OpenSSL 1.1.1: use a shorter key, or maxVersion 'TLSv1.2'`,
    );
  }
}
