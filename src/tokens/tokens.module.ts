import { Module } from '@nestjs/common';
import { AppConfig } from '../config/config.schema.js';
import { KeyEncryption, loadKeyEncryption } from '../infra/crypto/key-encryption.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenIssuer } from './access-token.issuer.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { ClientRevocationRepository } from './clients/client-revocation.repository.js';
import { ClientRepository, TypeOrmClientRepository } from './clients/client.repository.js';
import { ClientRevocationPort } from './clients/client.revocation-port.js';
import { ClientsService } from './clients/clients.service.js';
import { KeyService } from './keys/key.service.js';
import { SigningKeyRevocationRepository } from './keys/signing-key-revocation.repository.js';
import { SigningKeyGenerator } from './keys/signing-key.generator.js';
import { SigningKeyRepository, TypeOrmSigningKeyRepository } from './keys/signing-key.repository.js';
import { SigningKeyRevocationPort } from './keys/signing-key.revocation-port.js';
import { SessionRevocationRepository } from './sessions/session-revocation.repository.js';
import { SessionRepository, TypeOrmSessionRepository } from './sessions/session.repository.js';
import { SessionRevocationPort } from './sessions/session.revocation-port.js';
import { SignInSessionRepository, TypeOrmSignInSessionRepository } from './sessions/sign-in-session.repository.js';
import { AuthorizationCodeRepository, TypeOrmAuthorizationCodeRepository } from './codes/authorization-code.repository.js';
import { OidcTokens } from './oidc-tokens.js';

/**
 * What tokens are made of: signing keys, client apps, sessions and refresh tokens, and the issuer
 * and verifier of access tokens. The OAuth endpoints that use them are OAuthModule. The three write
 * ports are exported for the revocation module alone.
 */
@Module({
  imports: [UsersModule],
  providers: [
    KeyService,
    SigningKeyGenerator,
    ClientsService,
    AccessTokenIssuer,
    AccessTokenVerifier,
    OidcTokens,
    { provide: SignInSessionRepository, useClass: TypeOrmSignInSessionRepository },
    { provide: AuthorizationCodeRepository, useClass: TypeOrmAuthorizationCodeRepository },
    { provide: KeyEncryption, inject: [AppConfig], useFactory: loadKeyEncryption },
    { provide: SigningKeyRepository, useClass: TypeOrmSigningKeyRepository },
    { provide: ClientRepository, useClass: TypeOrmClientRepository },
    { provide: SessionRepository, useClass: TypeOrmSessionRepository },
    { provide: SessionRevocationPort, useClass: SessionRevocationRepository },
    { provide: ClientRevocationPort, useClass: ClientRevocationRepository },
    { provide: SigningKeyRevocationPort, useClass: SigningKeyRevocationRepository },
  ],
  exports: [KeyService, ClientsService, SessionRepository, SignInSessionRepository, AuthorizationCodeRepository, OidcTokens, AccessTokenIssuer, AccessTokenVerifier, SessionRevocationPort, ClientRevocationPort, SigningKeyRevocationPort],
})
export class TokensModule {}
