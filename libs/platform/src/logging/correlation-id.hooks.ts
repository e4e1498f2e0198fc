import type { FastifyInstance, FastifyRequest } from 'fastify';
import { acceptCorrelationId, runWithCorrelationId } from './correlation.js';

export const CORRELATION_ID_HTTP_HEADER = 'x-correlation-id';

const idByRequest = new WeakMap<FastifyRequest, string>();

/** The correlation id the hooks gave this request, for code that runs outside its async context. */
export const correlationIdOf = (request: FastifyRequest): string | undefined => idByRequest.get(request);

/**
 * Takes `X-Correlation-Id` (or makes a uuid), echoes it on the response and runs the request inside it.
 * Entering the context in onRequest is enough on Node 24 even when the body arrives in chunks (the spec sends
 * one over a real socket to keep it so).
 */
export const registerCorrelationIdHooks = (fastify: FastifyInstance): void => {
  fastify.addHook('onRequest', (request, reply, done) => {
    const id = acceptCorrelationId(request.headers[CORRELATION_ID_HTTP_HEADER]);
    idByRequest.set(request, id);
    void reply.header(CORRELATION_ID_HTTP_HEADER, id);
    runWithCorrelationId(id, () => done());
  });
};
