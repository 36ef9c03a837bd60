// `npm start`'s scripted run (examples/browser-demo.mjs --once): the example pages (the engine
// in the page, in a worker, pskFetch to a Redfish-like device, MQTT.js to mosquitto) in each of the three browser
// engines, one line each.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test(
  "npm start --once: the example pages echo, and list a device's systems and speak MQTT, through the bridge in Chromium, Firefox and WebKit",
  { timeout: 240_000 },
  async () => {
    const demo = spawn(process.execPath, ['examples/browser-demo.mjs', '--once'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (d) => (output += d));
    demo.stderr.on('data', (d) => (output += d));
    const code = await new Promise((resolve) => demo.on('exit', resolve));
    for (const engine of ['Chromium', 'Firefox', 'WebKit']) {
      assert.match(
        output,
        new RegExp(
          `headless ${engine}:\\n  engine in the page +TLSv1\\.3 .*echo: "hello from ${engine}"\\n  engine in the worker TLSv1\\.3 .*echo: "hello from ${engine} \\(worker\\)"\\n  pskFetch, Redfish +GET \\/redfish\\/v1\\/Systems: "Rack 4, unit 12" \\(PSK-BMC 2\\), PowerState On\\n  MQTT\\.js, worker +subscribed to demo\\/#, received demo\\/kitchen\\/temp \\(QoS 2\\): "hello from the page"`,
        ),
        output,
      );
    }
    assert.equal(code, 0, output);
  },
);
