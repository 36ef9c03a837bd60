// `npm start`: PSK TLS from a web page. Starts, on loopback, a TLS-PSK echo server (Node's own
// `tls`, native OpenSSL), a device's Redfish-like API over HTTPS-PSK (Node's `https`), an MQTT
// broker with a PSK (mosquitto, psk_file), the WebSocket bridge in front of them, and a web
// server for the example pages (examples/browser/: the engine in the page; examples/worker/:
// the engine and the key in a Web Worker; examples/redfish/: pskFetch() to the device;
// examples/mqtt/: MQTT.js over the worker's sockets); runs one scripted session of each in every browser engine installed
// (headless Chromium, Firefox, and WebKit, Safari's engine) and prints one line per engine and
// page; then keeps serving the pages until Ctrl-C. With --once it stops after the scripted runs.
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../lib/node/bridge.js';
import { startBroker } from './mqtt/broker.mjs';
import { startDevice } from './redfish/device.mjs';
import { ENGINES, installed, launchBrowser } from './browsers.mjs';
import { serveStatic } from './static-server.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const identity = 'browser-demo';
const key = webcrypto.getRandomValues(new Uint8Array(32));
const keyHex = Buffer.from(key).toString('hex');

// 1. A native TLS-PSK echo server: TLS 1.3 and TLS 1.2 PSK suites.
const tlsServer = createServer(
  {
    minVersion: 'TLSv1.2',
    ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256',
    pskIdentityHint: 'demo-server',
    pskCallback: (socket, id) => (id === identity ? key : null),
  },
  (socket) => socket.pipe(socket).on('error', () => {}),
);
tlsServer.listen(0, '127.0.0.1');
await once(tlsServer, 'listening');
const target = `127.0.0.1:${tlsServer.address().port}`;
const deviceKey = webcrypto.getRandomValues(new Uint8Array(32));
const device = await startDevice({ identity: 'bmc-admin', key: deviceKey });
const deviceTarget = `127.0.0.1:${device.port}`;
const brokerKey = webcrypto.getRandomValues(new Uint8Array(32));
const broker = await startBroker({ users: new Map([['page-1', brokerKey]]) });
const brokerTarget = `127.0.0.1:${broker.port}`;

// 2. The web server, then the bridge, which only lets that page's origin reach the TLS server.
let bridgeUrl = '';
const web = await serveStatic({
  mounts: {
    '/': here('./browser/'),
    '/worker/': here('./worker/'),
    '/redfish/': here('./redfish/'),
    '/mqtt/': here('./mqtt/'),
    '/vendor/mqtt.esm.js': here('../node_modules/mqtt/dist/mqtt.esm.js'),
    '/lib/': here('../dist/browser/'),
  },
  routes: {
    '/config.json': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: bridgeUrl, identity, keyHex })),
    '/redfish/config.json': (req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ bridge: bridge.url, device: `https://${deviceTarget}`, identity: 'bmc-admin', keyHex: Buffer.from(deviceKey).toString('hex') })),
    '/mqtt/config.json': (req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ url: `${bridge.url}/${brokerTarget}`, identity: 'page-1', keyHex: Buffer.from(brokerKey).toString('hex') })),
  },
});
const bridge = await startBridge({ allow: [target, deviceTarget, brokerTarget], origins: [web.url] });
bridgeUrl = `${bridge.url}/${target}`;

console.log(`TLS-PSK echo server (Node tls)  ${target}   identity "${identity}"`);
console.log(`WebSocket bridge                ${bridge.url}   allows ${target} from ${web.url}`);
console.log(`device (Node https, PSK)        ${deviceTarget}   identity "bmc-admin", a Redfish-like JSON API`);
console.log(`MQTT broker (mosquitto, PSK)     ${brokerTarget}   identity "page-1"`);
console.log(
  `web pages                       ${web.url}/ (engine in the page), ${web.url}/worker/ (in a worker), ${web.url}/redfish/ (pskFetch), ${web.url}/mqtt/ (MQTT.js)`,
);

// 3. One scripted session of each page in each browser engine on this machine.
const NAMES = { chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit' };
let failed = false;
const engines = ENGINES.filter(installed);
if (engines.length === 0) {
  failed = true;
  console.log('\nno browser engine installed (scripts/setup.sh demo installs them)');
}
for (const engine of engines) {
  console.log(`\nheadless ${NAMES[engine]}:`);
  let browser;
  try {
    browser = await launchBrowser(engine);
    for (const [name, path] of [
      ['page', '/'],
      ['worker', '/worker/'],
      ['redfish', '/redfish/'],
      ['mqtt', '/mqtt/'],
    ]) {
      const page = await browser.newPage();
      try {
        await page.goto(`${web.url}${path}?auto=1`);
        const result = await page.evaluate(async () => {
          for (let i = 0; i < 600 && !document.querySelector('#result[data-done]'); i++) await new Promise((r) => setTimeout(r, 50));
          const node = document.querySelector('#result[data-done]');
          return node ? JSON.parse(node.textContent) : { ok: false, error: 'no result within 30 s' };
        }, null);
        failed ||= !result.ok;
        if (name === 'redfish') {
          const s = result.systems?.[0];
          console.log(
            result.ok
              ? `  pskFetch, Redfish    GET /redfish/v1/Systems: "${s.name}" (${s.model}), PowerState ${s.powerState}`
              : `  pskFetch, Redfish    FAILED: ${result.error}`,
          );
          continue;
        }
        if (name === 'mqtt') {
          const m = result.message;
          console.log(
            result.ok
              ? `  MQTT.js, worker      subscribed to demo/#, received ${m.topic} (QoS ${m.qos}): "${m.text}"`
              : `  MQTT.js, worker      FAILED: ${result.error}`,
          );
          continue;
        }
        console.log(
          result.ok
            ? `  engine in the ${name.padEnd(6)} ${result.info.protocol} ${result.info.cipher}, PSK used: ${result.info.sessionReused}; echo: "${result.echo}"`
            : `  engine in the ${name.padEnd(6)} FAILED: ${result.error ?? JSON.stringify(result)}`,
        );
      } finally {
        await page.close();
      }
    }
  } catch (error) {
    failed = true;
    console.log(`  FAILED: ${error.message}`);
  } finally {
    await browser?.close();
  }
}

async function stop() {
  await bridge.close();
  await web.close();
  await device.stop();
  await broker.stop();
  tlsServer.close();
}

if (process.argv.includes('--once')) {
  await stop();
  process.exitCode = failed ? 1 : 0;
} else {
  console.log(
    `\nOpen ${web.url}/, ${web.url}/worker/, ${web.url}/redfish/ or ${web.url}/mqtt/ in a browser on this machine to try them (the fields are filled in). Ctrl-C stops everything.`,
  );
  await new Promise((resolve) => process.once('SIGINT', resolve));
  await stop();
}
