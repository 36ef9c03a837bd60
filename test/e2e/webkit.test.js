// The browser tests (test/e2e/browser-suite.js) in Webkit.
import { browserTests } from './browser-suite.js';

browserTests('webkit');
