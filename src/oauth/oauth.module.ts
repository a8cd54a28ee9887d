import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { ClientCredentialsGrant } from './grants/client-credentials.grant.js';
import { AuthorizationCodeGrant } from './grants/authorization-code.grant.js';
import { AuthorizeController } from './authorize/authorize.controller.js';
import { LogoutController } from './authorize/logout.controller.js';
import { HostedSignIn } from './authorize/hosted-sign-in.js';
import { PasswordGrant } from './grants/password.grant.js';
import { RefreshTokenGrant } from './grants/refresh-token.grant.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { IntrospectToken } from './usecases/introspect-token.usecase.js';
import { RevokeToken } from './usecases/revoke-token.usecase.js';
import { DiscoveryController } from './discovery.controller.js';
import { IntrospectionController } from './introspection.controller.js';
import { TokenController } from './token.controller.js';

/**
 * The OAuth endpoints client apps talk to: the token endpoint (one use case per grant), RFC 7009
 * revocation, RFC 7662 introspection, discovery and the JWKS. The password grant's check comes from
 * auth (PasswordSignIn), revocations go through RevocationService: both global.
 */
@Module({
  imports: [UsersModule, TokensModule],
  controllers: [TokenController, IntrospectionController, DiscoveryController, AuthorizeController, LogoutController],
  providers: [PasswordGrant, RefreshTokenGrant, ClientCredentialsGrant, AuthorizationCodeGrant, HostedSignIn, IntrospectToken, RevokeToken],
})
export class OAuthModule {}
