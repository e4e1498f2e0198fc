/**
 * The ceiling of bench:http: a bare node:http server in its own process answering each route with fixed,
 * pre-serialized bytes (what the gateway answered for the same request), so it measures only what Node and the
 * machine can do. Started by http.bench.ts with fork(); it receives the routes over IPC and replies with its port.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CeilingRoutes {
  /** Path prefix → body (base64) and content type. */
  [prefix: string]: { body: string; contentType: string };
}

process.once('message', (routes: CeilingRoutes) => {
  const table = Object.entries(routes).map(([prefix, route]) => ({ prefix, body: Buffer.from(route.body, 'base64'), contentType: route.contentType }));
  const server = createServer((request, response) => {
    // Read the request body as a real server must before answering.
    request.on('data', () => undefined);
    request.on('end', () => {
      const route = table.find((candidate) => request.url?.startsWith(candidate.prefix));
      if (route === undefined) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': route.contentType, 'content-length': route.body.length }).end(route.body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
});
