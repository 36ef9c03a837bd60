// The Redfish example: pskFetch() over the TLS worker's sockets. The page never holds the key
// after importPsk() (the worker has it); HTTP runs on the page, TLS in the worker.
import { createPskFetch } from '/lib/fetch.js';
import { createTlsWorker } from '/lib/worker.js';
import { drawWhenOpened } from '/ladder.js';
import { appendLine, fromHex } from '/ui.js';

const $ = (id) => document.getElementById(id);
const log = (line, error = false) => appendLine($('log'), line, error);

const worker = await createTlsWorker();
let pskFetch = null;

/** Lists /redfish/v1/Systems and each member's properties. */
async function listSystems(device) {
  const get = async (path) => {
    const res = await pskFetch(new URL(path, device));
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${res.statusText}`);
    log(`GET ${path} → ${res.status} ${res.headers.get('content-type')}`);
    return res.json();
  };
  const root = await get('/redfish/v1');
  const collection = await get(root.Systems['@odata.id']);
  const systems = [];
  for (const member of collection.Members) systems.push(await get(member['@odata.id']));
  const table = $('systems');
  table.replaceChildren();
  for (const s of systems) {
    for (const [name, value] of [
      ['Name', s.Name],
      ['Model', `${s.Manufacturer} ${s.Model}`],
      ['PowerState', s.PowerState],
      ['Health', s.Status?.Health],
    ]) {
      const row = table.insertRow();
      row.insertCell().textContent = name;
      row.insertCell().textContent = value;
    }
  }
  return systems;
}

async function connect({ bridge, device, identity, keyHex }) {
  const key = fromHex(keyHex);
  await worker.importPsk(identity, key.buffer); // transferred: `key` is empty afterwards
  $('key').value = '';
  pskFetch?.close();
  pskFetch = createPskFetch({
    connect: (origin, hostPort) =>
      drawWhenOpened($('ladder'), worker.connect(`${bridge}/${hostPort}`, { identity, traceHandshake: true }), {
        identity,
        title: `TLS connection to ${hostPort}`,
      }),
  });
  const systems = await listSystems(device);
  $('reset').hidden = false;
  $('reset').onclick = async () => {
    const target = systems[0].Actions['#ComputerSystem.Reset'].target;
    const res = await pskFetch(new URL(target, device), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ResetType: 'GracefulRestart' }),
    });
    log(`POST ${target} → ${res.status}`, !res.ok);
    await listSystems(device);
  };
  return systems;
}

const config = await (await fetch('/redfish/config.json')).json();
for (const [id, value] of Object.entries({ bridge: config.bridge, device: config.device, identity: config.identity, key: config.keyHex })) $(id).value = value;

$('connect').onsubmit = (event) => {
  event.preventDefault();
  connect({ bridge: $('bridge').value, device: $('device').value, identity: $('identity').value, keyHex: $('key').value }).catch((e) =>
    log(`${e.code ?? e.name}: ${e.message}`, true),
  );
};

// ?auto=1: one scripted run for `npm start` and the tests; the outcome goes in #result.
if (new URLSearchParams(location.search).has('auto')) {
  const result = $('result');
  try {
    const systems = await connect({ bridge: config.bridge, device: config.device, identity: config.identity, keyHex: config.keyHex });
    result.textContent = JSON.stringify({ ok: true, systems: systems.map((s) => ({ name: s.Name, powerState: s.PowerState, model: s.Model })) });
  } catch (e) {
    result.textContent = JSON.stringify({ ok: false, error: `${e.code ?? e.name}: ${e.message}` });
  }
  result.dataset.done = '1';
}
