/**
 * What the PSK exchange (psk-exchange.ts) reads and changes to match suites to a PSK's digest:
 * a connection's TLS 1.3 suites, reordered or narrowed by digest, and, inside the ClientHello
 * callback, the identities and suites the client offered.
 */
import type { Cipher, Digest } from '../core/cipher.js';
import { takeErrors } from '../core/error-queue.js';
import type { Borrowed, BytePtr, OutPtr, SslPtr } from '../core/pointers.js';
import type { Runtime } from '../core/runtime.js';

const TLSEXT_TYPE_PSK = 41;
const TLSEXT_TYPE_SUPPORTED_VERSIONS = 43;
const TLS1_3_VERSION = 0x0304;

export function sameDigest(cipher: Cipher, digest: Digest): boolean {
  return cipher.handshakeDigest?.name === digest.name;
}

/** The connection's TLS 1.3 suites in preference order (OpenSSL lists them first). */
export function tls13Suites(rt: Runtime, ssl: SslPtr): Cipher[] {
  const suites: Cipher[] = [];
  for (let i = 0; ; i++) {
    const cipher = rt.ciphers.cipher(rt.shim.connOfferedCipher(ssl, i));
    if (!cipher || cipher.version !== 'TLSv1.3') return suites;
    suites.push(cipher);
  }
}

/** SSL_set_ciphersuites; a list OpenSSL refuses changes nothing. */
export function setSuites(rt: Runtime, ssl: SslPtr, suites: Cipher[]): void {
  const list = suites.map((c) => c.name).join(':');
  if (!rt.heap.withCString(list, (s) => rt.shim.connSetCiphersuites(ssl, s))) takeErrors(rt);
}

/** Client: moves the suites of `digest` to the front of the connection's list. */
export function putDigestFirst(rt: Runtime, ssl: SslPtr, digest: Digest): void {
  const suites = tls13Suites(rt, ssl);
  const first = [...suites.filter((c) => sameDigest(c, digest)), ...suites.filter((c) => !sameDigest(c, digest))];
  if (first.some((c, i) => c !== suites[i])) setSuites(rt, ssl, first);
}

/** Server: keeps only the suites of `digest`, if there are others and the client offers one of them. */
export function keepDigestOnly(rt: Runtime, ssl: SslPtr, digest: Digest): void {
  const suites = tls13Suites(rt, ssl);
  const matching = suites.filter((c) => sameDigest(c, digest));
  if (matching.length === 0 || matching.length === suites.length) return;
  const offered = clientSuiteIds(rt, ssl);
  if (matching.some((c) => offered.has(c.id))) setSuites(rt, ssl, matching);
}

/** Inside the ClientHello callback: the identities of its pre_shared_key extension (RFC 8446 §4.2.11). */
export function offeredIdentities(rt: Runtime, ssl: SslPtr): Uint8Array[] {
  const { result: len, pointer } = rt.heap.withOutPointer((out: OutPtr<Borrowed<BytePtr>>) => rt.shim.connClientHelloExt(ssl, TLSEXT_TYPE_PSK, out));
  if (len < 2) return [];
  const ext = rt.heap.copyOut(pointer, len);
  const view = new DataView(ext.buffer);
  const end = Math.min(2 + view.getUint16(0), ext.length);
  const identities: Uint8Array[] = [];
  // identity<1..2^16-1> followed by a 4-byte obfuscated_ticket_age, repeated.
  for (let at = 2; at + 2 <= end;) {
    const idLen = view.getUint16(at);
    if (at + 2 + idLen + 4 > end) break; // malformed: OpenSSL will reject the extension itself
    identities.push(ext.slice(at + 2, at + 2 + idLen));
    at += 2 + idLen + 4;
  }
  return identities;
}

/**
 * Inside the ClientHello callback: whether the client offers TLS 1.3 (its supported_versions
 * extension lists 0x0304; RFC 8446 §4.2.1). Without that extension a client speaks TLS 1.2 at most.
 */
export function clientOffersTls13(rt: Runtime, ssl: SslPtr): boolean {
  const { result: len, pointer } = rt.heap.withOutPointer((out: OutPtr<Borrowed<BytePtr>>) =>
    rt.shim.connClientHelloExt(ssl, TLSEXT_TYPE_SUPPORTED_VERSIONS, out),
  );
  if (len < 1) return false;
  const ext = rt.heap.copyOut(pointer, len);
  const end = Math.min(1 + ext[0]!, ext.length);
  for (let at = 1; at + 1 < end; at += 2) if (((ext[at]! << 8) | ext[at + 1]!) === TLS1_3_VERSION) return true;
  return false;
}

/** Inside the ClientHello callback: the client's cipher suites, by number. */
function clientSuiteIds(rt: Runtime, ssl: SslPtr): Set<number> {
  const { result: len, pointer } = rt.heap.withOutPointer((out: OutPtr<Borrowed<BytePtr>>) => rt.shim.connClientHelloCiphers(ssl, out));
  const bytes = rt.heap.copyOut(pointer, len);
  const ids = new Set<number>();
  for (let i = 0; i + 1 < bytes.length; i += 2) ids.add((bytes[i]! << 8) | bytes[i + 1]!);
  return ids;
}
