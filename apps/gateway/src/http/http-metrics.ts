import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { createHistogram } from '#rollgate/platform';

const started = new WeakMap<FastifyRequest, bigint>();

/**
 * `rollgate_gateway_http_request_duration_seconds{method, route, status}`. The route is Fastify's pattern
 * (`/api/v1/feature-flags/:key`), never the raw URL, so label values stay bounded; unmatched URLs share one.
 */
export const registerHttpMetrics = (fastify: FastifyInstance, registry: Registry): void => {
  const duration = createHistogram(registry, {
    name: 'rollgate_gateway_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  fastify.addHook('onRequest', (request, _reply, done) => {
    started.set(request, process.hrtime.bigint());
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const start = started.get(request);
    if (start !== undefined) {
      const route = request.routeOptions.url ?? 'unmatched';
      duration.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    }
    done();
  });
};
