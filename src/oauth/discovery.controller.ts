import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors, COMMON_API_ERRORS } from '../infra/http/openapi.js';
import { Public } from '../infra/http/credential.decorator.js';
import { AppConfig } from '../config/config.schema.js';
import { GRANT_TYPES } from '../tokens/clients/client.js';
import { KeyService, SIGNING_ALG } from '../tokens/keys/key.service.js';

const strings = { type: 'array', items: { type: 'string' } };
const url = { type: 'string', format: 'uri' };

/** What the metadata documents say (RFC 8414 section 2). */
const METADATA = {
  type: 'object',
  required: ['issuer', 'token_endpoint', 'jwks_uri'],
  properties: {
    issuer: url,
    authorization_endpoint: url,
    token_endpoint: url,
    end_session_endpoint: url,
    jwks_uri: url,
    userinfo_endpoint: url,
    revocation_endpoint: url,
    introspection_endpoint: url,
    revocation_endpoint_auth_methods_supported: strings,
    introspection_endpoint_auth_methods_supported: strings,
    grant_types_supported: strings,
    response_types_supported: strings,
    token_endpoint_auth_methods_supported: strings,
    scopes_supported: strings,
    subject_types_supported: strings,
    access_token_signing_alg_values_supported: strings,
    id_token_signing_alg_values_supported: strings,
    code_challenge_methods_supported: strings,
    response_modes_supported: strings,
    prompt_values_supported: strings,
    claims_supported: strings,
    authorization_response_iss_parameter_supported: { type: 'boolean' },
    backchannel_logout_supported: { type: 'boolean' },
    backchannel_logout_session_supported: { type: 'boolean' },
    service_documentation: { ...url, description: 'This documentation: `/docs`.' },
  },
};

/** RFC 7517 JWK Set: the public keys that may verify a token (ES256, P-256). */
const JWKS = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kty', 'kid'],
        properties: { kty: { type: 'string', enum: ['EC'] }, crv: { type: 'string', enum: ['P-256'] }, x: { type: 'string' }, y: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string', enum: ['ES256'] }, use: { type: 'string', enum: ['sig'] } },
      },
    },
  },
};

/** RFC 8414 authorization server metadata, and the RFC 7517 JWK Set resource servers verify with. */
@ApiTags('discovery')
@ApiSecurity({})
@Controller('.well-known')
export class DiscoveryController {
  private readonly metadata: Record<string, unknown>;

  constructor(
    config: AppConfig,
    private readonly keys: KeyService,
  ) {
    const base = config.issuer;
    this.metadata = {
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      end_session_endpoint: `${base}/oauth/logout`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      userinfo_endpoint: `${base}/userinfo`,
      revocation_endpoint: `${base}/oauth/revoke`,
      introspection_endpoint: `${base}/oauth/introspect`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: [...GRANT_TYPES],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: ['openid', 'email', 'profile'],
      subject_types_supported: ['public'],
      access_token_signing_alg_values_supported: [SIGNING_ALG],
      id_token_signing_alg_values_supported: [SIGNING_ALG],
      code_challenge_methods_supported: ['S256'],
      prompt_values_supported: ['none', 'login'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'at_hash', 'azp', 'email', 'preferred_username', 'roles'],
      authorization_response_iss_parameter_supported: true,
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      service_documentation: `${base}/docs`,
    };
  }

  @Public()
  @Get('oauth-authorization-server')
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({ summary: 'Authorization server metadata (RFC 8414)' })
  @ApiOkResponse({ description: 'The metadata (cacheable for 5 minutes).', schema: METADATA })
  @ApiErrors(...COMMON_API_ERRORS)
  authorizationServer() {
    return this.metadata;
  }

  @Public()
  @Get('openid-configuration')
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({ summary: 'The same metadata at the OpenID Connect discovery path' })
  @ApiOkResponse({ description: 'The metadata (cacheable for 5 minutes).', schema: METADATA })
  @ApiErrors(...COMMON_API_ERRORS)
  openidConfiguration() {
    return this.metadata;
  }

  @Public()
  @Get('jwks.json')
  @Header('cache-control', 'public, max-age=60')
  @Header('content-type', 'application/jwk-set+json')
  @ApiOperation({ summary: 'The JWK Set (RFC 7517)', description: 'The keys that may verify an access token: the active one and those whose tokens have not expired yet. A revoked key is not listed.' })
  @ApiProduces('application/jwk-set+json')
  @ApiOkResponse({ description: 'The JWK Set (cacheable for a minute).', content: { 'application/jwk-set+json': { schema: JWKS } } })
  @ApiErrors(...COMMON_API_ERRORS)
  jwks() {
    return this.keys.jwks();
  }
}
