/** read-file.ts for browsers: a page or worker has no file system. */
export function readFileUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  return Promise.reject(new Error(`a browser cannot read ${url.href}: give an http(s) URL`));
}
