// Key vault runs in a page (test/e2e/browser-suite.js): plain JavaScript and web APIs only,
// JSON-serialisable results. `createTlsWorker` comes from the browser bundle.
import { echo, messagesContainKey } from './worker-run.js';

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const describe = (error) => ({ code: error?.code ?? null, name: error?.name ?? null, message: String(error?.message ?? error) });
const settle = (promise) =>
  promise.then(
    (value) => ({ value }),
    (error) => ({ error: describe(error) }),
  );

/** Echoes `text` over a socket of the worker (a Node echo server behind the bridge). */
async function echoThrough(worker, url, identity, text) {
  const socket = worker.connect(url, { identity });
  const info = await socket.opened;
  const received = await echo(socket, text, text);
  await socket.close();
  return { received, protocol: info.protocol };
}

/** First visit: import a key into the vault, use it. */
export async function importAndUse(createTlsWorker, { vault, url, identity, keyHex }) {
  const messages = [];
  const worker = await createTlsWorker({ vault, tap: (m) => messages.push(m) });
  try {
    await worker.clearStore();
    const key = fromHex(keyHex);
    await worker.importPsk(identity, key.slice().buffer);
    const echoed = await settle(echoThrough(worker, url, identity, 'first visit\n'));
    return { storage: worker.storage, listed: await worker.listPsks(), echoed, leaked: messagesContainKey(messages, key) };
  } finally {
    worker.terminate();
  }
}

/**
 * After a reload: the key is listed without importing it again, is not in the worker's wasm
 * memory before the first connect (debug vault worker), and is after it.
 */
export async function reconnect(createTlsWorker, { vault, url, identity, keyHex, debug }) {
  const messages = [];
  const worker = await createTlsWorker({ vault, tap: (m) => messages.push(m) });
  try {
    const key = fromHex(keyHex);
    const listed = await worker.listPsks();
    const before = debug ? await worker.memoryContains(key) : null;
    const echoed = await settle(echoThrough(worker, url, identity, 'after a reload\n'));
    const after = debug ? await worker.memoryContains(key) : null;
    return { storage: worker.storage, listed, before, after, echoed, leaked: messagesContainKey(messages, key) };
  } finally {
    worker.terminate();
  }
}

/**
 * A compromised page with a vault open: it opens "the vault's" IndexedDB (its own origin's),
 * posts arbitrary messages to the frame, connects a second time, then navigates the frame.
 */
export async function compromisedPage(createTlsWorker, { vault, url, identity, keyHex }) {
  const key = fromHex(keyHex);
  const messages = [];
  const worker = await createTlsWorker({ vault, tap: (m) => messages.push(m) });
  const out = {};
  // 1. The page's own IndexedDB of that name: it did not exist (an upgrade is needed), no stores.
  out.idb = await new Promise((resolve) => {
    let existed = true;
    const req = indexedDB.open('openssl-psk-vault');
    req.onupgradeneeded = () => (existed = false);
    req.onsuccess = () => {
      const db = req.result;
      const stores = [...db.objectStoreNames];
      db.close();
      indexedDB.deleteDatabase('openssl-psk-vault');
      resolve({ existed, stores });
    };
    req.onerror = () => resolve({ error: String(req.error) });
  });
  // 2. Arbitrary messages to the frame, some with ports: whatever comes back is recorded.
  const frame = document.querySelector('iframe[title="PSK vault"]');
  const replies = [];
  const listen = (port) => {
    port.onmessage = (e) => replies.push(e.data);
    return port;
  };
  const vaultOrigin = new URL(vault, location.href).origin;
  const attempts = [
    [{ type: 'openssl-psk-vault/connect' }, true],
    [{ vault: { origin: location.origin, database: 'openssl-psk-vault' } }, true],
    [{ pair: { identity, hex: '00'.repeat(32) } }, false],
    [{ call: 1, method: 'listPsks', args: [] }, true],
    [{ type: 'openssl-psk-vault/paired', identity }, false],
    ['a string', false],
    [null, false],
  ];
  for (const [message, withPort] of attempts) {
    const channel = withPort ? new MessageChannel() : null;
    if (channel) listen(channel.port1);
    frame.contentWindow.postMessage(message, '*', channel ? [channel.port2] : []);
    frame.contentWindow.postMessage(message, vaultOrigin);
  }
  await new Promise((r) => setTimeout(r, 500));
  out.replies = replies;
  // The vault goes on: the key is still there and usable, and was not replaced by the "pair".
  out.listed = await worker.listPsks();
  out.echoed = await settle(echoThrough(worker, url, identity, 'still here\n'));
  // 3. Navigate the frame: the worker is gone, typed; nothing else comes out.
  const pending = settle(worker.listPsks());
  frame.src = 'about:blank';
  const gone = await new Promise((resolve) => {
    const poll = () => (worker.gone ? resolve(true) : setTimeout(poll, 50));
    setTimeout(() => resolve(worker.gone), 5000);
    poll();
  });
  out.gone = gone;
  out.pending = await pending;
  out.after = await settle(worker.listPsks());
  worker.terminate();
  // 4. Remove another vault's frame from the document: the same.
  const removed = await createTlsWorker({ vault, tap: (m) => messages.push(m) });
  document.querySelector('iframe[title="PSK vault"]').remove();
  out.removed = await settle(removed.listPsks());
  out.leaked = messagesContainKey([...messages, ...replies], key);
  return out;
}

/** createTlsWorker({ vault }) from an origin the vault does not list: typed ERR_VAULT, no frame left. */
export async function notListed(createTlsWorker, { vault }) {
  const r = await settle(createTlsWorker({ vault }));
  if (r.value) r.value.terminate();
  return { ...r, frames: document.querySelectorAll('iframe').length };
}

/** Imports and uses a key, whatever the storage (made to fail, or refused to a cross-site frame): storage says which. */
export async function importAndEcho(createTlsWorker, { vault, url, identity, keyHex }) {
  const worker = await createTlsWorker({ vault });
  try {
    const imported = await settle(worker.importPsk(identity, fromHex(keyHex).buffer));
    const listed = await worker.listPsks();
    const echoed = await settle(echoThrough(worker, url, identity, 'in memory\n'));
    return { storage: worker.storage, imported, listed, echoed };
  } finally {
    worker.terminate();
  }
}

/** What a vault shows this page: its identities and how it keeps them (the partitioning check). */
export async function look(createTlsWorker, { vault }) {
  const worker = await createTlsWorker({ vault });
  try {
    return { storage: worker.storage, listed: await worker.listPsks() };
  } finally {
    worker.terminate();
  }
}

/**
 * Two tabs, step one: a button that window.open()s vault-tab.html (clicked by the driver: a
 * user gesture, which WebKit's popup blocker asks for).
 */
export async function prepareTwoTabs(createTlsWorker, { vault, url, identity }) {
  const button = document.createElement('button');
  button.id = 'open-tab';
  button.textContent = 'open a second tab';
  button.onclick = () => (window.secondTab = window.open(`/e2e/vault-tab.html?${new URLSearchParams({ vault, url, identity })}`, '_blank'));
  document.body.append(button);
  return null;
}

/** Two tabs, step two: this page and the opened one use the vault at once. */
export async function twoTabs(createTlsWorker, { vault, url, identity }) {
  const tab = window.secondTab;
  const here = settle(
    (async () => {
      const worker = await createTlsWorker({ vault });
      try {
        return { listed: await worker.listPsks(), echoed: await echoThrough(worker, url, identity, 'tab one\n') };
      } finally {
        worker.terminate();
      }
    })(),
  );
  let there = { error: { message: 'window.open() returned null (a popup blocker)' } };
  if (tab) {
    for (let i = 0; i < 600 && !tab.vaultResult; i++) await new Promise((r) => setTimeout(r, 50));
    there = tab.vaultResult ?? { error: { message: 'the second tab gave no result within 30 s' } };
    tab.close();
  }
  return { here: await here, there };
}

/** The same-origin store: keys survive a reload, and the page can read them back (no protection). */
export async function sameOriginStore(createTlsWorker, { store, url, identity, keyHex, step }) {
  const worker = await createTlsWorker({ store });
  try {
    if (step === 'import') {
      await worker.clearStore();
      await worker.importPsk(identity, fromHex(keyHex).buffer);
      return { storage: worker.storage, listed: await worker.listPsks(), echoed: await settle(echoThrough(worker, url, identity, 'store one\n')) };
    }
    const listed = await worker.listPsks();
    const echoed = await settle(echoThrough(worker, url, identity, 'store two\n'));
    // The page opens the store's database and decrypts a record with the stored CryptoKey.
    const readBack = await new Promise((resolve, reject) => {
      const req = indexedDB.open(`openssl-psk-store:${store}`);
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const db = req.result;
        const tx = db.transaction(['keys', 'meta']);
        const getKey = tx.objectStore('meta').get('wrapping-key');
        const getAll = tx.objectStore('keys').getAll();
        tx.oncomplete = async () => {
          db.close();
          const record = getAll.result.find((r) => r.identity === identity);
          const aad = new TextEncoder().encode(JSON.stringify(['openssl-psk-wasm/psk/1', record.owner, record.identity, record.cipher]));
          const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv, additionalData: aad }, getKey.result, record.sealed);
          resolve(Array.from(new Uint8Array(plain), (b) => b.toString(16).padStart(2, '0')).join(''));
        };
      };
    });
    return { storage: worker.storage, listed, echoed, readBack };
  } finally {
    worker.terminate();
  }
}
