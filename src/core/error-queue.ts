/**
 * OpenSSL's error queue, drained as ERR_error_string_n text, and the parts of such a line
 * that error messages quote.
 */
import { TlsError } from './errors.js';
import type { CStringPtr } from './pointers.js';
import type { Runtime } from './runtime.js';

/** Drains OpenSSL's error queue, oldest first, as ERR_error_string_n text. */
export function takeErrors(rt: Runtime): string[] {
  const lines: string[] = [];
  let code: number;
  while ((code = rt.shim.errGet()) !== 0) {
    const buf = rt.heap.alloc(256);
    try {
      rt.shim.errString(code, buf as number as CStringPtr, 256);
      lines.push(rt.heap.cString(buf as number as CStringPtr) ?? '');
    } finally {
      rt.heap.free(buf);
    }
  }
  return lines;
}

/** A TlsError for a failed configuration call, with OpenSSL's reasons. */
export function configError(rt: Runtime, code: 'ERR_CONFIG' | 'ERR_CERTIFICATE' | 'ERR_NO_CSPRNG' | 'ERR_INVALID_ARGUMENT', message: string): TlsError {
  const openssl = takeErrors(rt);
  const reason = openssl.length ? `: ${reasonOf(openssl[openssl.length - 1]!)}` : '';
  return new TlsError(code, `${message}${reason}`, { openssl });
}

/** "error:141F5044:SSL routines:tls_construct_ctos_psk:internal error" -> 'tls_construct_ctos_psk'. */
export function functionOf(line: string): string | null {
  const parts = line.split(':');
  return parts.length >= 5 ? parts[3]! : null;
}

/** "error:1408F119:SSL routines:ssl3_get_record:decryption failed or bad record mac" -> the last part. */
export function reasonOf(line: string): string {
  const parts = line.split(':');
  return parts.length >= 5 ? parts.slice(4).join(':') : line;
}
