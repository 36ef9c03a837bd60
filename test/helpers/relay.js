// The relay of examples/relay, recording what it forwarded, so a test can check that it never
// saw plaintext. Loopback only.
import { startRelay as startExampleRelay } from '../../examples/relay/relay.mjs';

export async function startRelay() {
  const forwarded = [];
  const relay = await startExampleRelay({ onForward: (bytes) => forwarded.push(bytes) });
  return { ...relay, forwarded: () => Buffer.concat(forwarded) };
}
