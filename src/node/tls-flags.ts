/**
 * The flags s_client and s_server share, with OpenSSL's names and meanings, turned into socket
 * options: protocol versions, suites, groups, the PSK (-psk/-psk_identity, or -psk_session for
 * a session file, e.g. a SHA-384 PSK), -msg and -keylogfile.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import type { OpenSSL } from '../tls/openssl.js';
import { describeMessage } from '../tls/observers.js';
import type { SslSession } from '../tls/session.js';
import type { TlsSocketOptions } from '../socket/socket-options.js';
import type { TlsSocketInfo } from '../socket/socket-shape.js';
import { UsageError, hexKey, value, type FlagSpec, type Parsed } from './flags.js';

export const COMMON_FLAGS: FlagSpec[] = [
  { flag: '-psk', value: 'hex', help: 'the PSK, in hex' },
  { flag: '-psk_identity', value: 'id', help: 'the PSK identity (default Client_identity)' },
  { flag: '-psk_session', value: 'file', help: 'a TLS 1.3 PSK as an SSL_SESSION PEM file (its suite sets the digest, e.g. SHA-384)' },
  { flag: '-tls1_2', help: 'TLS 1.2 only' },
  { flag: '-tls1_3', help: 'TLS 1.3 only' },
  { flag: '-ciphersuites', value: 'list', help: 'TLS 1.3 suites, e.g. TLS_AES_256_GCM_SHA384' },
  { flag: '-cipher', value: 'list', help: 'TLS 1.2 cipher list, e.g. PSK-AES128-GCM-SHA256' },
  { flag: '-groups', value: 'list', help: 'key exchange groups, e.g. X25519:P-256' },
  { flag: '-allow_no_dhe_kex', help: 'allow TLS 1.3 psk_ke (no key exchange)' },
  { flag: '-msg', help: 'print each protocol message' },
  { flag: '-quiet', help: 'print only the application data' },
  { flag: '-keylogfile', value: 'file', help: 'append NSS key log lines (SSLKEYLOGFILE) to file: secrets, for Wireshark' },
];

export interface Output {
  write(text: string): unknown;
}

/** Socket options from the shared flags. `sessions` collects sessions the caller must free. */
export function tlsOptions(parsed: Parsed, ossl: OpenSSL, role: 'client' | 'server', out: Output, sessions: SslSession[]): TlsSocketOptions {
  const options: TlsSocketOptions = { openssl: ossl };
  if (parsed.has('-tls1_2') && parsed.has('-tls1_3')) throw new UsageError('-tls1_2 and -tls1_3 together mean both: give neither');
  if (parsed.has('-tls1_2')) options.maxVersion = options.minVersion = 'TLSv1.2';
  if (parsed.has('-tls1_3')) options.minVersion = options.maxVersion = 'TLSv1.3';
  const suites = value(parsed, '-ciphersuites');
  if (suites) options.ciphersuites = suites;
  const cipher = value(parsed, '-cipher');
  if (cipher) options.cipherList = cipher;
  const groups = value(parsed, '-groups');
  if (groups) options.groups = groups;
  if (parsed.has('-allow_no_dhe_kex')) options.allowNoDheKex = true;
  if (parsed.has('-msg')) options.onMessage = (message) => void out.write(`${describeMessage(message)}\n`);
  const keylog = value(parsed, '-keylogfile');
  if (keylog) {
    writeFileSync(keylog, '', { flag: 'a', mode: 0o600 });
    options.onKeylog = (line) => appendFileSync(keylog, `${line}\n`);
  }

  const identity = value(parsed, '-psk_identity') ?? 'Client_identity';
  const hex = value(parsed, '-psk');
  const sessionFile = value(parsed, '-psk_session');
  if (sessionFile) {
    const session = ossl.sessionFromPem(readFileSync(sessionFile), { wipe: true }); // bytes, so the PEM can be wiped
    sessions.push(session);
    const key = hex ? hexKey(hex, '-psk') : null;
    if (role === 'client') {
      options.pskUseSession = () => ({ identity, session });
      if (key) options.pskClient = () => ({ identity, psk: key });
    } else {
      options.pskFindSession = (conn, id) => (new TextDecoder().decode(id) === identity ? session : null);
      if (key) options.pskServer = (conn, id) => (id === identity ? key : null);
    }
  } else if (hex) {
    options.psk = { identity, key: hexKey(hex, '-psk') };
  }
  return options;
}

/** The lines OpenSSL prints after a handshake, in brief. */
export function summary(info: TlsSocketInfo, extra: string[] = []): string {
  return [
    '---',
    `${info.sessionReused ? 'Reused' : 'New'}, ${info.protocol}, Cipher is ${info.cipher}`,
    `Protocol  : ${info.protocol}`,
    `Cipher    : ${info.cipher}`,
    `Key exchange: ${info.keyExchangeGroup ?? 'none (PSK only)'}`,
    `Reused    : ${info.sessionReused ? 'yes' : 'no'}`,
    ...(info.earlyDataAccepted ? ['Early data was accepted'] : []),
    ...extra,
    '---',
    '',
  ].join('\n');
}
