import type { FastifyInstance } from 'fastify';

/**
 * Stops an HTTP server for a shutdown: no new connections, the requests in flight answered, then done. Fastify's
 * own close waits for keep-alive connections to time out (72 s), longer than any termination grace period, so
 * connections are closed as soon as they go idle. Run it before anything the handlers need stops.
 */
export async function closeHttp(fastify: FastifyInstance, idleCheckMs = 50): Promise<void> {
  const closing = fastify.close();
  const idle = setInterval(() => fastify.server.closeIdleConnections(), idleCheckMs);
  try {
    await closing;
  } finally {
    clearInterval(idle);
  }
}
