import type { FastifyInstance } from 'fastify';

/**
 * What every response that goes through Fastify's hooks carries, whatever answers it (a handler,
 * a guard, an error filter, the 404 handler): its request id, and `Cache-Control: no-store` unless
 * the route said how it may be cached (discovery and JWKS are public). Responses carry tokens and
 * personal data by default; a route opts in to caching, never out of it.
 */
export function applyResponsePolicy(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!reply.hasHeader('x-request-id')) reply.header('x-request-id', request.id);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}
