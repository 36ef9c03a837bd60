// A device's Redfish-like JSON API over HTTPS-PSK: Node's own https server (native OpenSSL)
// with a PSK instead of a certificate, as a BMC or an IoT gateway would serve it. Used by the
// Redfish example page (`npm start`) and by the pskFetch tests.
import { once } from 'node:events';
import { createServer } from 'node:https';

const SYSTEM = {
  '@odata.id': '/redfish/v1/Systems/1',
  Id: '1',
  Name: 'Rack 4, unit 12',
  Manufacturer: 'Example Devices',
  Model: 'PSK-BMC 2',
  PowerState: 'On',
  Status: { State: 'Enabled', Health: 'OK' },
  Actions: { '#ComputerSystem.Reset': { target: '/redfish/v1/Systems/1/Actions/ComputerSystem.Reset' } },
};

const RESOURCES = {
  '/redfish/v1': { '@odata.id': '/redfish/v1', Name: 'Root Service', RedfishVersion: '1.15.0', Systems: { '@odata.id': '/redfish/v1/Systems' } },
  '/redfish/v1/Systems': {
    '@odata.id': '/redfish/v1/Systems',
    Name: 'Computer System Collection',
    Members: [{ '@odata.id': SYSTEM['@odata.id'] }],
    'Members@odata.count': 1,
  },
  '/redfish/v1/Systems/1': SYSTEM,
};

/**
 * The Redfish-like routes: GET of the resources above, POST of the Reset action (a JSON body
 * { ResetType }). Returns false for any other path, so that a caller can add its own.
 */
export function redfishRoutes(req, res, body) {
  const path = new URL(req.url, 'https://device').pathname.replace(/\/$/, '');
  const json = (status, value) => res.writeHead(status, { 'content-type': 'application/json', 'odata-version': '4.0' }).end(JSON.stringify(value));
  if (req.method === 'GET' && RESOURCES[path]) return (json(200, RESOURCES[path]), true);
  if (req.method === 'POST' && path === `${SYSTEM['@odata.id']}/Actions/ComputerSystem.Reset`) {
    let type;
    try {
      type = JSON.parse(body.toString()).ResetType;
    } catch {
      return (json(400, { error: { message: 'the body must be JSON: { "ResetType": "On" | "ForceOff" | "GracefulRestart" }' } }), true);
    }
    if (!['On', 'ForceOff', 'GracefulRestart'].includes(type)) return (json(400, { error: { message: `unknown ResetType ${JSON.stringify(type)}` } }), true);
    SYSTEM.PowerState = type === 'ForceOff' ? 'Off' : 'On';
    return (res.writeHead(204).end(), true);
  }
  return false;
}

/**
 * An HTTPS-PSK server on 127.0.0.1 that reads each request's body and hands it to `handler(req,
 * res, body)` (by default the Redfish routes, 404 otherwise). Resolves with its port, counts of
 * accepted and open TLS connections, and stop().
 */
export async function startDevice({ identity, key, port = 0, keepAliveTimeout = 5000, handler = defaultHandler }) {
  const sockets = new Set();
  let accepted = 0;
  const server = createServer(
    {
      minVersion: 'TLSv1.2',
      ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-GCM-SHA256',
      pskCallback: (socket, id) => (id === identity ? Buffer.from(key) : null),
      keepAliveTimeout,
    },
    (req, res) => {
      const chunks = [];
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => handler(req, res, Buffer.concat(chunks)));
      req.on('error', () => {});
    },
  );
  server.on('secureConnection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    accepted: () => accepted,
    open: () => sockets.size,
    stop: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

function defaultHandler(req, res, body) {
  if (!redfishRoutes(req, res, body)) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
}
