import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../infra/http/credential.decorator.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { ApiOAuthErrors, CLIENT_BASIC, FormBody } from '../infra/http/openapi.js';
import { RevocationErrors } from '../revocation/revocation.errors.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import { OAuthErrors } from './oauth.errors.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { IntrospectToken } from './usecases/introspect-token.usecase.js';
import { RevokeToken } from './usecases/revoke-token.usecase.js';
import { clientCredentials, formParams, NoStore } from './client-request.js';
import { OAuthSurface } from './oauth-error.filter.js';

const CLIENT_FORM_PARAMS = {
  client_id: { type: 'string', description: 'The client (required for a public client, or with `client_secret`; with HTTP Basic it must match).' },
  client_secret: { type: 'string', description: '`client_secret_post`: the client secret as a form parameter (not together with HTTP Basic).' },
};

const tokenForm = (what: string) => ({
  type: 'object',
  required: ['token'],
  properties: {
    token: { type: 'string', description: what },
    token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'], description: 'Which kind of token it is likely to be (a hint: both are tried).' },
    ...CLIENT_FORM_PARAMS,
  },
});

const INTROSPECTION = {
  type: 'object',
  required: ['active'],
  description: 'RFC 7662 section 2.2. A revoked, expired, unknown or foreign token (or one of a locked user or a revoked client) is `{"active": false}` and nothing else.',
  properties: {
    active: { type: 'boolean' },
    token_type: { type: 'string', enum: ['Bearer'], description: 'Access tokens only.' },
    scope: { type: 'string' },
    client_id: { type: 'string' },
    username: { type: 'string', description: "The user's email (tokens issued to a user)." },
    sub: { type: 'string' },
    aud: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    iss: { type: 'string' },
    iat: { type: 'integer' },
    exp: { type: 'integer' },
    jti: { type: 'string' },
    sid: { type: 'string', description: 'The session (tokens issued to a user).' },
    roles: { type: 'array', items: { type: 'string' } },
  },
};

const CLIENT_ERRORS = [OAuthErrors.INVALID_REQUEST, TokensErrors.INVALID_CLIENT, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE];

/** RFC 7009 token revocation and RFC 7662 token introspection: the client authenticates, not a bearer token. */
@ApiTags('oauth')
@ApiSecurity({})
@ApiSecurity(CLIENT_BASIC)
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
  @ApiOperation({ summary: 'Revoke a token (RFC 7009)', description: "A refresh token ends its session; an access token is refused everywhere before this returns. An unknown or another client's token is answered 200 too." })
  @FormBody(tokenForm('The access or refresh token to revoke.'))
  @ApiOkResponse({ description: 'Revoked (or nothing to revoke).', schema: { type: 'object', additionalProperties: false, properties: {} } })
  @ApiOAuthErrors(...CLIENT_ERRORS, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async revoke(@Req() req: FastifyRequest): Promise<Record<string, never>> {
    await this.revokeToken.execute({ ...(await this.caller(req)), requestId: String(req.id) });
    return {};
  }

  @Post('introspect')
  @HttpCode(200)
  @NoStore()
  @ApiOperation({ summary: 'Introspect a token (RFC 7662)', description: 'For confidential clients (resource servers). Revocation is checked as on every request.' })
  @FormBody(tokenForm('The access or refresh token to introspect.'))
  @ApiOkResponse({ description: 'The token\'s state.', schema: INTROSPECTION })
  @ApiOAuthErrors(...CLIENT_ERRORS, RevocationErrors.REVOCATION_STATE_UNAVAILABLE)
  async introspect(@Req() req: FastifyRequest): Promise<Record<string, unknown>> {
    return this.introspectToken.execute(await this.caller(req));
  }
}
