// Methods only test workers answer (the shipped worker scripts have none of them):
// memoryContains() is an oracle on the keys, crash() kills the worker, pollution() tells
// whether anything reached the worker's Object.prototype.

/** The extra methods for serveTlsWorker(), over the worker's service. */
export function debugMethods(service) {
  return {
    async memoryContains([needle]) {
      if (!(needle instanceof Uint8Array) || needle.length === 0) throw new TypeError('memoryContains takes a non-empty Uint8Array');
      const u8 = (await service.instance()).runtime.heap.u8;
      outer: for (let i = u8.indexOf(needle[0]); i >= 0 && i + needle.length <= u8.length; i = u8.indexOf(needle[0], i + 1)) {
        for (let j = 1; j < needle.length; j++) if (u8[i + j] !== needle[j]) continue outer;
        return true;
      }
      return false;
    },
    crash() {
      setTimeout(() => {
        throw new Error('a crash on purpose (test worker)');
      }, 20);
    },
    pollution() {
      return {
        objectPrototype: Object.getOwnPropertyNames(Object.prototype).filter((name) => !BASELINE.includes(name)),
        functionConstructor: typeof globalThis.__constructed,
      };
    },
  };
}

const BASELINE = Object.getOwnPropertyNames(Object.prototype);
