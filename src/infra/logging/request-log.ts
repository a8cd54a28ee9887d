import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';

/**
 * One line per request: id, method, path (never the query string), status and time. Successful
 * requests log at debug, so the hot path writes nothing at the default level.
 */
export function logRequests(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const root = PinoLogger.root;
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (root.isLevelEnabled(level)) {
      root[level](
        {
          requestId: request.id,
          method: request.method,
          path: request.url.split('?')[0],
          remoteAddress: request.ip,
          status,
          responseTime: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request completed',
      );
    }
    done();
  });
}
