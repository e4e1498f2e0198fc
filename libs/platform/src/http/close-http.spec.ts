import { Agent, get } from 'node:http';
import Fastify from 'fastify';
import { closeHttp } from './close-http.js';

const fetchText = (port: number, agent?: Agent): Promise<string> =>
  new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });

describe(closeHttp.name, () => {
  it('answers the request in flight, refuses new ones, and does not wait for keep-alive connections to time out', async () => {
    const fastify = Fastify();
    fastify.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return 'done';
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fastify.server.address() as { port: number };
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    // A first request leaves an idle keep-alive connection behind.
    expect(await fetchText(port, agent)).toBe('done');
    const inFlight = fetchText(port, agent);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = closeHttp(fastify);
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000))]);
    expect(outcome).toBe('closed');
    expect(await inFlight).toBe('done');
    await expect(fetchText(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    agent.destroy();
  });
});
