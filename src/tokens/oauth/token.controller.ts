import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../auth/public.decorator.js';
import { type ClientCredentials, ClientsService } from '../clients/clients.service.js';
import { ClientCredentialsGrant } from '../grants/client-credentials.grant.js';
import { PasswordGrant } from '../grants/password.grant.js';
import { RefreshTokenGrant } from '../grants/refresh-token.grant.js';
import type { TokenRequest, TokenResponse } from '../grants/token-request.js';
import { OAuthError, invalidRequest } from './oauth.error.js';

/**
 * RFC 6749 section 3.2 form parameters: a form-encoded body, each parameter at most once, strings
 * only. Anything else is invalid_request and changes nothing.
 */
export function formParams(req: FastifyRequest): Record<string, string> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw invalidRequest('the request must be application/x-www-form-urlencoded');
  const body = (req.body ?? {}) as Record<string, unknown>;
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw invalidRequest(`the ${name} parameter is repeated`);
    if (typeof value !== 'string') throw invalidRequest(`the ${name} parameter is malformed`);
    if (value !== '') params[name] = value;
  }
  return params;
}

const decodeFormComponent = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));

/** RFC 6749 section 2.3.1: HTTP Basic or body parameters, never both. */
export function clientCredentials(req: FastifyRequest, params: Record<string, string>): ClientCredentials {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!m) throw new OAuthError('invalid_client', 'the Authorization header is not valid HTTP Basic client authentication');
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'the Authorization header is not valid HTTP Basic client authentication');
    if (params.client_secret !== undefined) throw invalidRequest('use one client authentication method, not several');
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = decodeFormComponent(decoded.slice(0, colon));
      clientSecret = decodeFormComponent(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError('invalid_client', 'the Basic credentials are not form-encoded');
    }
    if (params.client_id !== undefined && params.client_id !== clientId) throw invalidRequest('client_id does not match the authenticated client');
    return { clientId, clientSecret, method: 'client_secret_basic' };
  }
  if (params.client_secret !== undefined) return { clientId: params.client_id, clientSecret: params.client_secret, method: 'client_secret_post' };
  return { clientId: params.client_id, method: 'none' };
}

@Controller('oauth')
export class TokenController {
  constructor(
    private readonly clients: ClientsService,
    private readonly password: PasswordGrant,
    private readonly refresh: RefreshTokenGrant,
    private readonly clientCredentialsGrant: ClientCredentialsGrant,
  ) {}

  @Public()
  @Post('token')
  @HttpCode(200)
  async token(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<TokenResponse> {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = formParams(req);
    const client = await this.clients.authenticate(clientCredentials(req, params));
    const request: TokenRequest = {
      params,
      client,
      ip: req.ip ?? null,
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 512) : null,
      requestId: String(req.id),
      raw: req,
    };
    switch (params.grant_type) {
      case undefined:
        throw invalidRequest('the grant_type parameter is required');
      case 'password':
        return this.password.execute(request);
      case 'refresh_token':
        return this.refresh.execute(request);
      case 'client_credentials':
        return this.clientCredentialsGrant.execute(request);
      default:
        throw new OAuthError('unsupported_grant_type', `the grant type "${params.grant_type.slice(0, 64)}" is not supported`);
    }
  }
}
