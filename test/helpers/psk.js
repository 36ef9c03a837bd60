// Contexts and PSKs for in-memory tests: a wasm client and a wasm server of one instance.
import { webcrypto } from 'node:crypto';

export const key32 = () => webcrypto.getRandomValues(new Uint8Array(32));
export const key48 = () => webcrypto.getRandomValues(new Uint8Array(48));

/** A server whose find-session callback knows the sessions in `table` (identity -> SslSession). */
export function pskServer(ossl, table, options = {}) {
  const seen = [];
  const ctx = ossl.createContext({
    role: 'server',
    pskFindSession: (conn, identity) => {
      const name = Buffer.from(identity).toString('latin1');
      seen.push(name);
      return table.get(name) ?? null;
    },
    ...options,
  });
  return { ctx, seen };
}

/** A client whose use-session callback offers `session` under `identity`, recording each md. */
export function pskClient(ossl, identity, session, options = {}) {
  const calls = [];
  const ctx = ossl.createContext({
    role: 'client',
    pskUseSession: (conn, md) => {
      calls.push(md);
      return { identity, session };
    },
    ...options,
  });
  return { ctx, calls };
}

/** Frees everything given, in order, ignoring nulls. */
export function freeAll(...objects) {
  for (const o of objects) o?.free();
}
