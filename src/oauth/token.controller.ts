import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../infra/errors/domain-error.js';
import { Public } from '../infra/http/credential.decorator.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { ClientCredentialsGrant } from './grants/client-credentials.grant.js';
import { PasswordGrant } from './grants/password.grant.js';
import { RefreshTokenGrant } from './grants/refresh-token.grant.js';
import type { TokenRequest, TokenResponse } from './grants/token-request.js';
import { OAuthErrors, invalidRequest } from './oauth.errors.js';
import { clientCredentials, formParams, NoStore } from './client-request.js';
import { OAuthSurface } from './oauth-error.filter.js';

/** RFC 6749 section 3.2: one endpoint, one use case per grant. */
@Controller('oauth')
@OAuthSurface()
@Public()
export class TokenController {
  constructor(
    private readonly clients: ClientsService,
    private readonly password: PasswordGrant,
    private readonly refresh: RefreshTokenGrant,
    private readonly clientCredentialsGrant: ClientCredentialsGrant,
  ) {}

  @Post('token')
  @HttpCode(200)
  @NoStore()
  async token(@Req() req: FastifyRequest): Promise<TokenResponse> {
    const params = formParams(req);
    const client = await this.clients.authenticate(clientCredentials(req, params));
    const request: TokenRequest = {
      params,
      client,
      ip: req.ip ?? null,
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 512) : null,
      requestId: String(req.id),
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
        throw new DomainError(OAuthErrors.UNSUPPORTED_GRANT_TYPE, `the grant type "${params.grant_type.slice(0, 64)}" is not supported`);
    }
  }
}
