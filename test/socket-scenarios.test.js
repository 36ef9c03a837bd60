// The end-to-end table (test/e2e/scenarios.js) from Node: connectTls() over a real WebSocket
// (the `ws` package), through our bridge or Debian's websockify, to real TLS-PSK servers.
// The Playwright tests run the same rows from a page in Chromium.
import { after, describe, test } from 'node:test';
import * as lib from '../lib/index.js';
import { runClient } from './e2e/client-run.js';
import { SCENARIOS, checkOutcome, startScenario } from './e2e/scenarios.js';
import { stopPeers } from './helpers/peers.js';

after(stopPeers);

describe('connectTls from Node, the end-to-end table', () => {
  for (const scenario of SCENARIOS) {
    test(scenario.name, async () => {
      const setup = await startScenario(scenario);
      try {
        const result = await runClient(lib, setup.client);
        await checkOutcome(scenario, result, setup.server);
      } finally {
        await setup.stop();
      }
    });
  }
});
