import type { FastifyInstance, FastifyRequest } from 'fastify';

type Done = (err: Error | null, body?: unknown) => void;

/**
 * The `application/json` body parser: an empty body is no body (`undefined`), as without the
 * header; many clients send `Content-Type: application/json` on a POST without one. Anything else
 * is Fastify's own parser: malformed JSON is a 400, and `__proto__` or `constructor.prototype` keys
 * are refused (400), never copied onto an object.
 */
export function jsonBodyParser(fastify: FastifyInstance): (request: FastifyRequest, body: Buffer, done: Done) => void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  return (request, body, done) => {
    if (body.length === 0) return done(null, undefined);
    parse(request, body.toString('utf8'), done);
  };
}
