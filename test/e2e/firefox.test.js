// The browser tests (test/e2e/browser-suite.js) in Firefox.
import { browserTests } from './browser-suite.js';

browserTests('firefox');
