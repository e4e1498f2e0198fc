import type { FastifyInstance } from 'fastify';

/** Every route but those below: 1 MiB. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * Routes that carry user lists (`@RouteConfig({ bodyLimit: LIST_BODY_LIMIT_BYTES })`): 100 000 ids of up to 80
 * characters. The gateway sends such a list to the flags service in as many bus commands as it needs.
 */
export const LIST_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** A route's `config.bodyLimit` (from @RouteConfig) becomes its Fastify body limit; Nest has no decorator for it. */
export function applyRouteBodyLimits(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    const limit = (route.config as { bodyLimit?: unknown } | undefined)?.bodyLimit;
    if (typeof limit === 'number') route.bodyLimit = limit;
  });
}
