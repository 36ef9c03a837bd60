// The browser test vault worker (bundled by scripts/bundle.mjs --test into dist/test/): the
// shipped vault worker plus debugMethods(), and IndexedDB made to fail when its URL asks:
//   ?idb=open    indexedDB.open() throws (as where a frame gets no storage): keys in memory only
//   ?idb=writes  the database opens, every put() throws: importPsk() fails with ERR_STORAGE
import { runVaultWorker } from '../../src/vault/vault-worker.ts';
import { debugMethods } from './debug-methods.js';

const fail = new URL(import.meta.url).searchParams.get('idb');
const injected = () => new DOMException('a failure injected by the test worker', 'UnknownError');
if (fail === 'open') {
  IDBFactory.prototype.open = function open() {
    throw injected();
  };
}
if (fail === 'writes') {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, key) {
    if (this.name === 'keys') throw injected();
    return put.call(this, value, key);
  };
}

runVaultWorker(self, (service) => debugMethods(service));
