import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../infra/errors/domain-error.js';
import { Public } from '../infra/http/credential.decorator.js';
import { ApiOAuthErrors, CLIENT_BASIC, FormBody, oauthErrorsOf } from '../infra/http/openapi.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { GRANT_TYPES } from '../tokens/clients/client.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import { ClientsService } from '../tokens/clients/clients.service.js';
import { AuthorizationCodeGrant } from './grants/authorization-code.grant.js';
import { ClientCredentialsGrant } from './grants/client-credentials.grant.js';
import { PasswordGrant } from './grants/password.grant.js';
import { RefreshTokenGrant } from './grants/refresh-token.grant.js';
import type { TokenRequest, TokenResponse } from './grants/token-request.js';
import { OAuthErrors, invalidRequest } from './oauth.errors.js';
import { clientCredentials, formParams, NoStore } from './client-request.js';
import { OAuthSurface } from './oauth-error.filter.js';

/** RFC 6749 section 2.3.1: a confidential client's credentials in the form, when it does not use HTTP Basic. */
const CLIENT_FORM_PARAMS = {
  client_id: { type: 'string', description: 'The client (required for a public client, or with `client_secret`; with HTTP Basic it must match).' },
  client_secret: { type: 'string', description: '`client_secret_post`: the client secret as a form parameter (not together with HTTP Basic).' },
} as const;

const TOKEN_FORM = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', enum: [...GRANT_TYPES], description: 'RFC 6749 section 4.1 (`authorization_code`), 6 (`refresh_token`), 4.4 (`client_credentials`), 4.3 (`password`: legacy, for first-party clients only).' },
    code: { type: 'string', description: '`authorization_code` grant: the code from the redirect (single use, 60 seconds).' },
    redirect_uri: { type: 'string', description: '`authorization_code` grant: the redirect URI of the authorization request, character for character.' },
    code_verifier: { type: 'string', description: '`authorization_code` grant: the PKCE verifier (RFC 7636) whose S256 challenge the authorization request carried.' },
    username: { type: 'string', description: '`password` grant: the user\'s email.' },
    password: { type: 'string', format: 'password', description: '`password` grant: the user\'s password.' },
    refresh_token: { type: 'string', description: '`refresh_token` grant: the refresh token (each is used once; a reuse ends the session).' },
    scope: { type: 'string', description: 'Space-separated scopes, within what the client (or the session) was granted; all of it when left out.' },
    ...CLIENT_FORM_PARAMS,
  },
};

const TOKEN_RESPONSE = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
  properties: {
    access_token: { type: 'string', description: 'An ES256 JWT (`typ: at+jwt`), verifiable with the JWK Set.' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires.' },
    refresh_token: { type: 'string', description: 'For the `password` and `refresh_token` grants, and the `authorization_code` grant of a client that has the `refresh_token` grant: the next refresh token.' },
    scope: { type: 'string' },
    id_token: { type: 'string', description: 'OpenID Connect: with the `openid` scope, from the `authorization_code` grant. ES256, verifiable with the JWK Set.' },
  },
};

/** RFC 6749 section 3.2: one endpoint, one use case per grant. */
@ApiTags('oauth')
@Controller('oauth')
@OAuthSurface()
@Public()
export class TokenController {
  constructor(
    private readonly clients: ClientsService,
    private readonly password: PasswordGrant,
    private readonly refresh: RefreshTokenGrant,
    private readonly clientCredentialsGrant: ClientCredentialsGrant,
    private readonly authorizationCode: AuthorizationCodeGrant,
  ) {}

  @Post('token')
  @HttpCode(200)
  @NoStore()
  @ApiOperation({ summary: 'Issue tokens (RFC 6749)', description: 'The `authorization_code` (with PKCE), `refresh_token`, `client_credentials` and `password` (legacy) grants. The client authenticates with HTTP Basic or `client_secret_post`; a public client sends only `client_id`. Never cached.' })
  @ApiSecurity({})
  @ApiSecurity(CLIENT_BASIC)
  @FormBody(TOKEN_FORM)
  @ApiOkResponse({ description: 'RFC 6749 section 5.1 access token response.', schema: TOKEN_RESPONSE })
  @ApiOAuthErrors(
    OAuthErrors.INVALID_REQUEST,
    OAuthErrors.INVALID_GRANT,
    OAuthErrors.UNAUTHORIZED_CLIENT,
    OAuthErrors.UNSUPPORTED_GRANT_TYPE,
    OAuthErrors.INVALID_SCOPE,
    // The password grant's sign-in conditions (a failed sign-in, the throttle, the throttle's store down)
    // are auth's, behind the PasswordSignIn port.
    oauthErrorsOf('auth'),
    TokensErrors.INVALID_CLIENT,
    HttpErrors.INTERNAL,
    HttpErrors.PASSWORD_HASHING_BUSY,
    HttpErrors.SERVICE_UNAVAILABLE,
  )
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
      case 'authorization_code':
        return this.authorizationCode.execute(request);
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
