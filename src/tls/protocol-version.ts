/** TLS protocol versions by the names the API uses ('TLSv1.2', 'TLSv1.3') and their wire numbers. */
import { TlsError } from '../core/errors.js';

/** A TLS version by its OpenSSL name, for minVersion and maxVersion. */
export type ProtocolVersion = 'TLSv1.2' | 'TLSv1.3';

const VERSIONS: Record<ProtocolVersion, number> = { 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

export function protocolNumber(version: unknown, what: string): number {
  const number = typeof version === 'string' ? VERSIONS[version as ProtocolVersion] : undefined;
  if (number === undefined) {
    throw new TlsError('ERR_INVALID_ARGUMENT', `${what} must be 'TLSv1.2' or 'TLSv1.3', got ${JSON.stringify(version)}`);
  }
  return number;
}

export function protocolName(number: number): string {
  for (const [name, value] of Object.entries(VERSIONS)) if (value === number) return name;
  return `0x${number.toString(16).padStart(4, '0')}`;
}
