// A throwaway PKI made with the native openssl CLI: a CA and a server certificate for
// 'localhost' and 127.0.0.1, both P-256. Made once per test process, in a temp directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let cached;

export function testPki() {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'opw-pki-'));
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=openssl-psk-wasm test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    );
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem');
    run(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=some other CA',
      '-keyout',
      'other.key',
      '-out',
      'other.pem',
    );
    const read = (f) => readFileSync(join(dir, f), 'utf8');
    cached = {
      ca: read('ca.pem'),
      certificate: read('server.pem'),
      privateKey: read('server.key'),
      otherCa: read('other.pem'),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
