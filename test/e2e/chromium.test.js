// The browser tests (test/e2e/browser-suite.js) in Chromium.
import { browserTests } from './browser-suite.js';

browserTests('chromium');
