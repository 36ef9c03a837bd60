// A small deterministic PRNG (xorshift32) for the fuzzers, so that a run replays from its seed.
export function prng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const int = (n) => next() % n;
  return {
    int,
    pick: (list) => list[int(list.length)],
    chance: (p) => next() / 0x100000000 < p,
    bytes: (n) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}
