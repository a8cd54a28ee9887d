import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClientsService } from '../tokens/clients/clients.service.js';
import { basicCredentials } from './client-request.js';

/** The endpoints a browser app calls directly, and the methods each takes. */
const CORS_ROUTES: Record<string, string> = { '/oauth/token': 'POST', '/oauth/revoke': 'POST', '/userinfo': 'GET, POST' };
const PREFLIGHT_MAX_AGE = '600';

const pathOf = (url: string) => url.split('?')[0].replace(/\/+$/, '');

/** The client a request is made for: HTTP Basic's user, the form's client_id, or an access token's client_id claim. */
export function clientIdOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization ?? '';
  const basic = basicCredentials(auth);
  if (basic !== null) return basic === 'undecodable' ? undefined : basic.clientId;
  const bearer = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/i.exec(auth.trim());
  if (bearer) {
    // Only to choose the CORS answer: the guard verifies the token itself. A forged claim can only
    // make its own (refused) answer readable to that client's origins.
    try {
      const claims = JSON.parse(Buffer.from(bearer[2], 'base64url').toString('utf8')) as { client_id?: unknown };
      return typeof claims.client_id === 'string' ? claims.client_id : undefined;
    } catch {
      return undefined;
    }
  }
  const body = req.body as Record<string, unknown> | undefined;
  return typeof body?.client_id === 'string' ? body.client_id : undefined;
}

/**
 * CORS for browser apps (single-page apps with `oidc-client-ts`): the token, revocation and
 * userinfo endpoints answer a request from an origin in its client's `allowed_origins`, echoing that
 * exact origin (never `*`, never credentials: these endpoints take no cookies). A preflight names no
 * client, so it is answered for an origin some active client allows; the request itself is then
 * answered for its own client's origins only. Any other origin gets no CORS headers at all. The
 * discovery documents and the JWK Set, public and cookie-free, are readable from any origin.
 */
export function applyClientCors(fastify: FastifyInstance, clients: ClientsService): void {
  // Plain callback hooks: a request without Origin (every server-side caller, the hot path) costs
  // one header lookup and no promise.
  fastify.addHook('onRequest', (req, reply, done) => {
    const origin = req.headers.origin;
    if (!origin) return done();
    // Discovery and the JWK Set are public documents a browser app reads first: any origin, no credentials.
    if (req.url.startsWith('/.well-known/')) {
      void reply.header('access-control-allow-origin', '*');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) return void reply.header('access-control-allow-methods', 'GET').code(204).send();
      return done();
    }
    const methods = CORS_ROUTES[pathOf(req.url)];
    if (!methods) return done();
    void reply.header('vary', 'Origin');
    if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return done();
    clients.originAllowedForAny(origin).then(
      (allowed) => {
        if (allowed) {
          void reply.headers({
            'access-control-allow-origin': origin,
            'access-control-allow-methods': methods,
            'access-control-allow-headers': 'authorization, content-type',
            'access-control-max-age': PREFLIGHT_MAX_AGE,
          });
        }
        void reply.code(204).send();
      },
      (err: Error) => done(err),
    );
  });
  fastify.addHook('preHandler', (req, reply, done) => {
    const origin = req.headers.origin;
    if (!origin || !CORS_ROUTES[pathOf(req.url)]) return done();
    const clientId = clientIdOf(req);
    if (!clientId) return done();
    clients.findActive(clientId).then(
      (client) => {
        if (client?.allowedOrigins.includes(origin)) {
          void reply.headers({ 'access-control-allow-origin': origin, 'access-control-expose-headers': 'www-authenticate, retry-after' });
        }
        done();
      },
      (err: Error) => done(err),
    );
  });
}
