// Loaded into every test process by `npm test` (node --test --import … --expose-gc): a wasm
// object (context, connection, session, secret key) that is garbage-collected without free()
// fails its test file, naming what leaked. A test about leaks sets its own handler with onLeak().
import { after } from 'node:test';
import { onLeak } from '../../lib/index.js';

const leaked = [];
onLeak((what) => leaked.push(what));

after(async () => {
  // Finalizers run after a collection, on a later turn of the event loop.
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (leaked.length > 0) throw new Error(`collected without free(): ${leaked.join(', ')}`);
});
