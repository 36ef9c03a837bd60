// A mosquitto broker that speaks MQTT over TLS-PSK only (psk_file; no certificate), on
// 127.0.0.1, for the MQTT example page in `npm start`. `users` maps identity -> key (bytes);
// the identity is the MQTT user name.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function startBroker({ users, port = 0 }) {
  if (port === 0) {
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    port = probe.address().port;
    await new Promise((resolve) => probe.close(resolve));
  }
  const dir = mkdtempSync(join(tmpdir(), 'opw-broker-'));
  writeFileSync(join(dir, 'psk'), [...users].map(([id, key]) => `${id}:${Buffer.from(key).toString('hex')}\n`).join(''), { mode: 0o600 });
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      `listener ${port} 127.0.0.1`,
      'psk_hint example-broker',
      `psk_file ${join(dir, 'psk')}`,
      'use_identity_as_username true',
      // As root mosquitto drops to the user "mosquitto", who could not read the key file.
      'allow_anonymous false',
      'user root',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const broker = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  broker.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => broker.once('exit', resolve));
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) =>
      connect(port, '127.0.0.1')
        .once('connect', function () {
          this.destroy();
          resolve(true);
        })
        .once('error', () => resolve(false)),
    );
    if (up) break;
    if (i === 100 || broker.exitCode !== null) {
      broker.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mosquitto did not start on port ${port}: ${output || 'is it installed? (apt-get install mosquitto)'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    stop: async () => {
      broker.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
