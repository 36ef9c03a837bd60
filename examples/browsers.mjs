// The three browser engines, driven the same way, for the demo and the browser tests:
//   chromium  Debian's Chromium through Playwright (playwright-core)
//   firefox   Debian's Firefox ESR through WebDriver BiDi (puppeteer-core)
//   webkit    WebKitGTK's MiniBrowser through WebDriver (WebKitWebDriver), under an Xvfb of
//             its own; one WebDriver session per page
// Each gives { name, newPage(), close() }; a page gives { goto(url), evaluate(fn, arg),
// click(selector), inFrame(frameSelector, steps), close() }. click() is a real click (a user
// gesture: a popup blocker lets its window.open() through); inFrame() types and clicks inside
// an iframe, cross-origin ones included, as a user would (steps: { type: selector, text } or
// { click: selector }).
// evaluate() runs `fn` (a self-contained function, as its source) in the page with one JSON
// argument and resolves with its JSON result; a throw in the page rejects with its message.
// No browser is downloaded: each must be installed (scripts/setup.sh installs all three).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver';
export const WEBKIT_BROWSER = process.env.WEBKIT_BROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** As root Chromium needs these; the background-networking ones keep it from dialling out. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ENGINES = ['chromium', 'firefox', 'webkit'];

/** Whether the engine's programs are on this machine. */
export function installed(name) {
  const paths = { chromium: [CHROMIUM_PATH], firefox: [FIREFOX_PATH], webkit: [WEBKIT_DRIVER, WEBKIT_BROWSER, '/usr/bin/Xvfb'] }[name];
  return paths.every((path) => existsSync(path));
}

/** How long one evaluate() may take before it fails (a hung page must not hang the run). */
const EVALUATE_TIMEOUT_MS = 120_000;

export async function launchBrowser(name) {
  const launch = { chromium: launchChromium, firefox: launchFirefox, webkit: launchWebKit }[name];
  if (!launch) throw new Error(`unknown engine ${name}: one of ${ENGINES.join(', ')}`);
  const browser = await launch();
  // close() may be called more than once (a test's finally and an after hook): once is done.
  let closing = null;
  const close = browser.close;
  return { ...browser, close: () => (closing ??= close()) };
}

/**
 * The expression evaluate() runs: calls `fn` with `arg` and turns a throw into data, since
 * WebDriver reports page errors poorly and each driver words them differently.
 */
function wrapped(fn, arg) {
  return `Promise.resolve().then(() => (${fn})(${JSON.stringify(arg)})).then(
    (value) => ({ ok: true, value: value === undefined ? null : value }),
    (error) => ({ ok: false, error: String(error && error.stack ? error.name + ': ' + error.message + '\\n' + error.stack : error) }))`;
}

function unwrap(name, outcome) {
  if (!outcome || typeof outcome !== 'object') throw new Error(`${name}: evaluate() returned ${JSON.stringify(outcome)}`);
  if (!outcome.ok) throw new Error(`${name}: the page threw ${outcome.error}`);
  return outcome.value;
}

function bounded(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${EVALUATE_TIMEOUT_MS} ms`)), EVALUATE_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
}

async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return {
    name: 'chromium',
    /** The Playwright browser, for what only Chromium offers (network emulation, screenshots). */
    playwright: browser,
    async newPage() {
      const context = await browser.newContext();
      const page = await context.newPage();
      return {
        playwright: page,
        goto: (url) => page.goto(url).then(() => {}),
        evaluate: async (fn, arg) => unwrap('chromium', await bounded(page.evaluate(wrapped(fn, arg)), 'chromium evaluate()')),
        click: (selector) => page.click(selector),
        async inFrame(frameSelector, steps) {
          const frame = page.frameLocator(frameSelector);
          for (const step of steps) {
            if (step.type) await frame.locator(step.type).fill(step.text);
            else await frame.locator(step.click).click();
          }
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

async function launchFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, args: [], protocolTimeout: EVALUATE_TIMEOUT_MS });
  return {
    name: 'firefox',
    async newPage() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      return {
        goto: (url) => page.goto(url).then(() => {}),
        evaluate: async (fn, arg) => unwrap('firefox', await bounded(page.evaluate(wrapped(fn, arg)), 'firefox evaluate()')),
        click: (selector) => page.click(selector),
        async inFrame(frameSelector, steps) {
          const frame = await (await page.waitForSelector(frameSelector)).contentFrame();
          for (const step of steps) {
            const selector = step.type ?? step.click;
            await frame.waitForSelector(selector, { visible: true });
            if (step.type) await frame.type(selector, step.text);
            else await frame.click(selector);
          }
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

/** A free TCP port on loopback, for WebKitWebDriver (which takes a port, not 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a program and stops it when this process exits. */
function child(command, args, options = {}) {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  proc.once('exit', () => process.removeListener('exit', kill));
  let output = '';
  proc.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  proc.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  return {
    proc,
    output: () => output,
    stop: () => new Promise((resolve) => (proc.exitCode !== null ? resolve() : (proc.once('exit', resolve), proc.kill('SIGTERM')))),
  };
}

/** An X display of our own for WebKitGTK: Xvfb picks a free number and tells it on fd 3. */
async function startXvfb() {
  const xvfb = child('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x800x24'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const display = await new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start: ${xvfb.output()}`)), 10_000);
    xvfb.proc.stdio[3].on('data', (d) => {
      text += d;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
    xvfb.proc.once('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${xvfb.output()}`)));
  });
  return { display, stop: xvfb.stop };
}

/**
 * One WebKitWebDriver: it serves one session at a time, so the browser keeps a pool of them
 * (a second page at once starts a second driver).
 */
async function startWebKitDriver(display) {
  const port = await freePort();
  const driver = child(WEBKIT_DRIVER, [`--port=${port}`, '--host=127.0.0.1'], { env: { ...process.env, DISPLAY: display } });
  const base = `http://127.0.0.1:${port}`;
  const command = async (method, path, body, timeoutMs = EVALUATE_TIMEOUT_MS) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`WebKitWebDriver ${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
    return json.value;
  };
  for (let i = 0; ; i++) {
    try {
      await command('GET', '/status', undefined, 1000);
      return { command, stop: driver.stop };
    } catch (error) {
      if (i === 50) {
        await driver.stop();
        throw new Error(`WebKitWebDriver did not answer: ${error.message}; ${driver.output()}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Opens a session (a MiniBrowser window) on `driver`; resolves with its id. */
async function openSession(driver) {
  const session = await driver.command(
    'POST',
    '/session',
    {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': { binary: WEBKIT_BROWSER, args: ['--automation'] },
          timeouts: { script: EVALUATE_TIMEOUT_MS, pageLoad: 60_000 },
        },
      },
    },
    45_000,
  );
  return session.sessionId;
}

async function launchWebKit() {
  const xvfb = await startXvfb();
  const idle = [await startWebKitDriver(xvfb.display)];
  const all = new Set(idle);
  const pages = new Set();
  return {
    name: 'webkit',
    async newPage() {
      // One session is one window. On a loaded machine a driver can fail to open one (the
      // MiniBrowser it starts never answers): that driver is stopped and a fresh one tried,
      // once; WebKitWebDriver never answers without a display, hence the bound on each try.
      let driver;
      let id;
      for (let attempt = 1; ; attempt++) {
        driver = idle.pop();
        if (!driver) {
          driver = await startWebKitDriver(xvfb.display);
          all.add(driver);
        }
        try {
          id = await openSession(driver);
          break;
        } catch (error) {
          all.delete(driver);
          await driver.stop();
          if (attempt === 2) throw new Error(`WebKit: no window after ${attempt} drivers: ${error.message}`, { cause: error });
        }
      }
      const { command } = driver;
      let closing = null;
      const page = {
        goto: (url) => command('POST', `/session/${id}/url`, { url }).then(() => {}),
        evaluate: async (fn, arg) =>
          unwrap(
            'webkit',
            await command(
              'POST',
              `/session/${id}/execute/async`,
              { script: `const done = arguments[0]; ${wrapped(fn, arg)}.then(done);`, args: [] },
              EVALUATE_TIMEOUT_MS + 5000,
            ),
          ),
        async click(selector) {
          const element = await command('POST', `/session/${id}/element`, { using: 'css selector', value: selector });
          await command('POST', `/session/${id}/element/${Object.values(element)[0]}/click`, {});
        },
        async inFrame(frameSelector, steps) {
          const frame = await command('POST', `/session/${id}/element`, { using: 'css selector', value: frameSelector });
          await command('POST', `/session/${id}/frame`, { id: frame });
          try {
            for (const step of steps) {
              const selector = step.type ?? step.click;
              const element = Object.values(await command('POST', `/session/${id}/element`, { using: 'css selector', value: selector }))[0];
              if (step.type) {
                await command('POST', `/session/${id}/element/${element}/click`, {});
                await command('POST', `/session/${id}/element/${element}/value`, { text: step.text });
              } else await command('POST', `/session/${id}/element/${element}/click`, {});
            }
          } finally {
            await command('POST', `/session/${id}/frame/parent`, {});
          }
        },
        close: () =>
          (closing ??= (async () => {
            pages.delete(page);
            try {
              await command('DELETE', `/session/${id}`, undefined, 10_000);
              idle.push(driver);
            } catch {
              // a driver that cannot end its session is not used again
              all.delete(driver);
              await driver.stop();
            }
          })()),
      };
      pages.add(page);
      return page;
    },
    async close() {
      for (const page of pages) await page.close();
      for (const driver of all) await driver.stop();
      await xvfb.stop();
    },
  };
}
