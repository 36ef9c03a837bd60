/**
 * Reads a file: URL (Node: the .wasm beside lib/). The browser bundle uses read-file.browser.ts
 * instead (scripts/bundle.mjs), so that nothing in a page's graph names a Node module.
 */
export async function readFileUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const { readFile } = (await import('node:fs/promises' as string)) as { readFile(path: URL): Promise<Uint8Array<ArrayBuffer>> };
  return readFile(url);
}
