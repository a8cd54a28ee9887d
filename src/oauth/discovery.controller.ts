import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../infra/http/credential.decorator.js';
import { AppConfig } from '../config/config.schema.js';
import { GRANT_TYPES } from '../tokens/clients/client.js';
import { KeyService, SIGNING_ALG } from '../tokens/keys/key.service.js';

/** RFC 8414 authorization server metadata, and the RFC 7517 JWK Set resource servers verify with. */
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
      token_endpoint: `${base}/oauth/token`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      userinfo_endpoint: `${base}/userinfo`,
      revocation_endpoint: `${base}/oauth/revoke`,
      introspection_endpoint: `${base}/oauth/introspect`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      grant_types_supported: [...GRANT_TYPES],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: [],
      subject_types_supported: ['public'],
      access_token_signing_alg_values_supported: [SIGNING_ALG],
      service_documentation: `${base}/docs`,
    };
  }

  @Public()
  @Get('oauth-authorization-server')
  @Header('cache-control', 'public, max-age=300')
  authorizationServer() {
    return this.metadata;
  }

  @Public()
  @Get('openid-configuration')
  @Header('cache-control', 'public, max-age=300')
  openidConfiguration() {
    return this.metadata;
  }

  @Public()
  @Get('jwks.json')
  @Header('cache-control', 'public, max-age=60')
  @Header('content-type', 'application/jwk-set+json')
  jwks() {
    return this.keys.jwks();
  }
}
