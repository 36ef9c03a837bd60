// A small static file server for the browser example, the end-to-end tests and the benchmark:
// serves directories under URL prefixes with the right MIME types (application/wasm matters:
// WebAssembly.compileStreaming insists on it), on 127.0.0.1 only. Like a production server it
// sends text and the .wasm gzip-compressed to a client that accepts it (the benchmark's cold
// first byte depends on it), compressed once per file version (gzip -9, as precompressed
// assets would be) rather than on every request.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};
/** What is worth compressing: every type above (images and archives would not be). */
const COMPRESSIBLE = new Set(Object.keys(TYPES));

/** Whether an Accept-Encoding header allows gzip (not refused with q=0). */
export function acceptsGzip(header) {
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (name.trim() === 'gzip' || name.trim() === '*') && (!q || Number(q.slice(2)) > 0);
  });
}

/**
 * mounts: { '/': dir, '/lib/': dir, … }; routes: { '/config.json': (req, res) => … };
 * headers: extra response headers (e.g. a Content-Security-Policy), or a function of the path
 * giving them; gzip: false to send every file as it is. onRequest(path): called for each
 * request (the benchmark counts fetches of the .wasm with it). Resolves with { url, close() }.
 */
export async function serveStatic({ mounts, routes = {}, headers = {}, port = 0, gzip = true, onRequest }) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const compressed = new Map(); // file → { key: size and mtime, bytes }
  const gzipped = (file, stat) => {
    const key = `${stat.size}:${stat.mtimeMs}`;
    let entry = compressed.get(file);
    if (entry?.key !== key) {
      entry = { key, bytes: gzipSync(readFileSync(file), { level: 9 }) };
      compressed.set(file, entry);
    }
    return entry.bytes;
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    onRequest?.(path, req);
    if (routes[path]) return routes[path](req, res);
    const prefix = prefixes.find((p) => path.startsWith(p));
    if (!prefix) return res.writeHead(404).end('not found');
    const root = mounts[prefix];
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(normalize(root + sep)) && file !== normalize(root)) return res.writeHead(403).end('forbidden');
    let stat;
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      stat = statSync(file);
    } catch {
      return res.writeHead(404).end('not found');
    }
    const extra = typeof headers === 'function' ? headers(path) : headers;
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const common = { 'content-type': type, 'cache-control': 'no-store', vary: 'accept-encoding', ...extra };
    if (gzip && COMPRESSIBLE.has(extname(file)) && acceptsGzip(req.headers['accept-encoding'])) {
      const bytes = gzipped(file, stat);
      res.writeHead(200, { ...common, 'content-encoding': 'gzip', 'content-length': bytes.length });
      return res.end(req.method === 'HEAD' ? undefined : bytes);
    }
    res.writeHead(200, { ...common, 'content-length': stat.size });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
