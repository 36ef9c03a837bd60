#!/usr/bin/env node
// The package's command: `npx openssl-psk-wasm bridge …` (see lib/node/cli.js).
import { main } from '../lib/node/cli.js';

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`openssl-psk-wasm: ${error instanceof Error ? error.message : error}\n`);
    process.exitCode = 1;
  },
);
