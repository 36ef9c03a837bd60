// The device API the pskFetch tests talk to (Node and the three browser engines): the Redfish
// routes of examples/redfish/device.mjs, and routes that make the HTTP cases happen (echo,
// chunked and slow bodies, a body cut short, no answer, redirects, 204).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { redfishRoutes } from '../../examples/redfish/device.mjs';

/** For startDevice({ handler }): `body` is the whole request body. */
export function deviceApi(req, res, body) {
  const url = new URL(req.url, 'https://device');
  (async () => {
    switch (url.pathname) {
      case '/echo':
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-request-te': req.headers['transfer-encoding'] ?? '',
          'x-request-length': req.headers['content-length'] ?? '',
        });
        return res.end(
          JSON.stringify({
            method: req.method,
            type: req.headers['content-type'] ?? null,
            body: body.toString('base64'),
            sha256: createHash('sha256').update(body).digest('hex'),
          }),
        );
      case '/chunked': {
        // No Content-Length: Node sends it chunked.
        const size = Number(url.searchParams.get('bytes'));
        const piece = Buffer.alloc(65536);
        for (let sent = 0; sent < size; sent += piece.length) {
          for (let i = 0; i < piece.length; i++) piece[i] = (sent + i) & 0xff;
          if (!res.write(piece.subarray(0, Math.min(piece.length, size - sent)))) await once(res, 'drain');
        }
        return res.end();
      }
      case '/slow':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part; ');
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? 300)));
        return res.end('second part');
      case '/cut':
        res.writeHead(200, { 'content-length': '1000' });
        res.write('x'.repeat(400));
        return setTimeout(() => res.socket.destroy(), 50);
      case '/never':
        return; // no answer at all
      case '/redirect':
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/redfish/v1/Systems' });
        return res.end();
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        return res.end();
      case '/no-content':
        res.writeHead(204);
        return res.end();
      default:
        if (redfishRoutes(req, res, body)) return;
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not found');
    }
  })();
}
