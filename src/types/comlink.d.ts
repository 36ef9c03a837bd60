// comlink has no "exports" map and its "main" is a UMD build that Node's ESM loader cannot
// read named exports from, so the ES module files are imported by path. These declarations
// give those paths the package's own types.
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}

declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(nep: unknown): Endpoint;
}
