// Set-ups several test files share.
import { webcrypto } from 'node:crypto';
import { startBridge } from '../../lib/node/bridge.js';
import { opensslServer } from './peers.js';

/** `openssl s_server -rev` with `args`, behind our bridge; resolves { url, stop }. */
export async function serverBehindBridge(args) {
  const server = await opensslServer(['-nocert', ...args, '-rev']);
  const bridge = await startBridge({ allow: [`127.0.0.1:${server.port}`] });
  return { url: `${bridge.url}/127.0.0.1:${server.port}`, stop: async () => (await bridge.close(), await server.stop()) };
}

/** The 32-byte PBKDF2-HMAC-SHA256 key of a passphrase, as the worker derives it. */
export async function pbkdf2(passphrase, salt, iterations) {
  const material = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await webcrypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, material, 256));
}
