// Playwright with Debian's Chromium (browsers cannot be downloaded here): the end-to-end tests
// in test/e2e run in real pages against real servers and bridges on loopback.
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './examples/chromium.mjs';

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '*.spec.js',
  timeout: 90_000,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
});
