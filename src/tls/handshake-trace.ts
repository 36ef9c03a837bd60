/**
 * A handshake as steps for a ladder diagram: each handshake message, alert and
 * ChangeCipherSpec the connection sent or received, by name, with its size and when it
 * passed. Names, sizes and times only, never the bytes: a ClientHello's binder would let
 * whoever reads it test guesses of a passphrase-derived key offline, so a trace may cross to
 * a page that must not see the key.
 */
import { decodeAlert } from '../core/errors.js';
import type { HandshakeStep } from '../core/handshake-step.js';
import { HANDSHAKE_TYPES, type TlsMessage } from './observers.js';

export type { HandshakeStep } from '../core/handshake-step.js';

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
const HRR_RANDOM = [
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e,
  0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/** The step a message observer's message is, or null for what a ladder does not show (record headers, inner content types). */
export function handshakeStep(message: TlsMessage, timeMs: number): HandshakeStep | null {
  const { bytes, direction } = message;
  const size = bytes.length;
  switch (message.contentType) {
    case 20:
      return { direction, kind: 'change_cipher_spec', name: 'ChangeCipherSpec', size, timeMs };
    case 21: {
      if (size < 2) return null;
      const alert = decodeAlert((bytes[0]! << 8) | bytes[1]!, direction);
      return alert ? { direction, kind: 'alert', name: alert.name, level: alert.level, size, timeMs } : null;
    }
    case 22: {
      if (size < 1) return null;
      const type = bytes[0]!;
      let name = HANDSHAKE_TYPES[type] ?? `handshake_${type}`;
      if (type === 2 && size >= 38 && HRR_RANDOM.every((b, i) => bytes[6 + i] === b)) name = 'HelloRetryRequest';
      return { direction, kind: 'handshake', name, size, timeMs };
    }
    case 256:
      // OpenSSL 1.1.1 reports a received ChangeCipherSpec only by its record header
      // (tls_get_message_header returns before the message callback); a sent one is reported
      // as a message (case 20) as well as by its header, so only the received side counts here.
      if (direction === 'received' && size >= 5 && bytes[0] === 20)
        return { direction, kind: 'change_cipher_spec', name: 'ChangeCipherSpec', size: (bytes[3]! << 8) | bytes[4]!, timeMs };
      return null;
    default:
      return null;
  }
}

/** Records steps into `steps` from a message observer, timed from `start` (performance.now()). */
export function traceInto(steps: HandshakeStep[], start: number): (message: TlsMessage) => void {
  return (message) => {
    const step = handshakeStep(message, Math.round((performance.now() - start) * 10) / 10);
    if (step) steps.push(step);
  };
}
