import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Public } from '../infra/http/credential.decorator.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { IntrospectToken } from './usecases/introspect-token.usecase.js';
import { RevokeToken } from './usecases/revoke-token.usecase.js';
import { clientCredentials, formParams, NoStore } from './client-request.js';
import { OAuthSurface } from './oauth-error.filter.js';

/** RFC 7009 token revocation and RFC 7662 token introspection: the client authenticates, not a bearer token. */
@Controller('oauth')
@OAuthSurface()
@Public()
export class IntrospectionController {
  constructor(
    private readonly clients: ClientsService,
    private readonly revokeToken: RevokeToken,
    private readonly introspectToken: IntrospectToken,
  ) {}

  private async caller(req: FastifyRequest) {
    const params = formParams(req);
    const client = await this.clients.authenticate(clientCredentials(req, params));
    return { client, params };
  }

  @Post('revoke')
  @HttpCode(200)
  @NoStore()
  async revoke(@Req() req: FastifyRequest): Promise<Record<string, never>> {
    await this.revokeToken.execute({ ...(await this.caller(req)), requestId: String(req.id) });
    return {};
  }

  @Post('introspect')
  @HttpCode(200)
  @NoStore()
  async introspect(@Req() req: FastifyRequest): Promise<Record<string, unknown>> {
    return this.introspectToken.execute(await this.caller(req));
  }
}
