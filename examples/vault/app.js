// The vault example's page: createTlsWorker({ vault }) with the vault's iframe shown in
// #vault-box. If the vault has no key for the device, the page asks the user to type it into
// the vault's own form (onPaired says when), then connects; after a reload it connects at once.
// #result gets { ok, paired: 'now' | 'earlier', received, storage } for the tests.
import { createTlsWorker } from '/lib/worker.js';

const config = await (await fetch('./config.json')).json(); // { vault, bridge, identity }
const log = (line) => (document.getElementById('log').textContent += `${line}\n`);
const state = (name, text) => {
  const node = document.getElementById('state');
  node.dataset.state = name;
  node.textContent = text;
};
const done = (result) => {
  const node = document.getElementById('result');
  node.textContent = JSON.stringify(result);
  node.dataset.done = '';
};

try {
  let onPaired;
  const pairedNow = new Promise((resolve) => (onPaired = resolve));
  const worker = await createTlsWorker({
    vault: config.vault,
    vaultParent: document.getElementById('vault-box'),
    onPaired: (identity) => identity === config.identity && onPaired(),
  });
  log(`vault connected; keys ${worker.storage.persistent ? 'are saved in the vault' : `last only this visit (${worker.storage.error})`}`);
  let paired = 'earlier';
  if (!(await worker.listPsks()).includes(config.identity)) {
    state('waiting', `Not paired: type the key of ${config.identity} into the vault's form above.`);
    await pairedNow;
    paired = 'now';
  }
  state('connecting', `Paired (${paired}): connecting to the device…`);
  const socket = worker.connect(config.bridge, { identity: config.identity });
  const info = await socket.opened;
  const writer = socket.writable.getWriter();
  await writer.write(new TextEncoder().encode('hello device\n'));
  const { value } = await socket.readable.getReader().read();
  await socket.close();
  const received = new TextDecoder().decode(value);
  log(`${info.protocol} ${info.cipher}: the device echoed ${JSON.stringify(received)}`);
  state('done', `Connected (paired ${paired}). Reload to reconnect without the key.`);
  const forget = document.getElementById('forget');
  forget.hidden = false;
  forget.onclick = async () => log(`forgotten: ${await worker.deletePsk(config.identity)}`);
  done({ ok: true, paired, received, storage: worker.storage });
} catch (error) {
  state('failed', `${error.code ?? error.name}: ${error.message}`);
  done({ ok: false, error: `${error.code ?? error.name}: ${error.message}` });
}
