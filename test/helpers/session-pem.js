// Writes an SSL_SESSION PEM for a chosen TLS 1.3 PSK with the native CLI, for
// `openssl s_server/s_client -psk_session`. No tool writes one for a chosen key, but
// `openssl asn1parse -genconf` can encode the SSL_SESSION_ASN1 structure of ssl/ssl_asn1.c.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Returns the path of a PEM file (removed by cleanup()) holding the PSK as a session. */
export function pskSessionFile({ key, cipherId, maxEarlyData = 0 }) {
  const dir = mkdtempSync(join(tmpdir(), 'opw-session-'));
  const lines = [
    'asn1=SEQUENCE:session',
    '[session]',
    'version=INTEGER:1',
    'ssl_version=INTEGER:0x0304',
    `cipher=FORMAT:HEX,OCTETSTRING:${cipherId.toString(16).padStart(4, '0')}`,
    'session_id=OCTETSTRING:',
    `master_key=FORMAT:HEX,OCTETSTRING:${Buffer.from(key).toString('hex')}`,
    `time=EXPLICIT:1,INTEGER:${Math.floor(Date.now() / 1000)}`,
    'timeout=EXPLICIT:2,INTEGER:86400',
  ];
  if (maxEarlyData > 0) lines.push(`max_early_data=EXPLICIT:15,INTEGER:${maxEarlyData}`);
  writeFileSync(join(dir, 'session.cnf'), lines.join('\n') + '\n');
  execFileSync('openssl', ['asn1parse', '-genconf', 'session.cnf', '-out', 'session.der', '-noout'], { cwd: dir });
  const der = readFileSync(join(dir, 'session.der')).toString('base64').replace(/.{64}/g, '$&\n');
  const path = join(dir, 'session.pem');
  writeFileSync(path, `-----BEGIN SSL SESSION PARAMETERS-----\n${der.trimEnd()}\n-----END SSL SESSION PARAMETERS-----\n`);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
