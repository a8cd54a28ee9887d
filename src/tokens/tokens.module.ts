import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/config.schema.js';
import { KeyEncryption, loadKeyEncryption } from '../infra/crypto/key-encryption.js';
import { MemoryRateLimiter, RateLimiter, RedisRateLimiter } from '../infra/rate-limit/rate-limiter.js';
import { REDIS } from '../infra/redis/redis.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenIssuer } from './access-token.issuer.js';
import { ClientRepository, TypeOrmClientRepository } from './clients/client.repository.js';
import { ClientsService } from './clients/clients.service.js';
import { ClientCredentialsGrant } from './grants/client-credentials.grant.js';
import { PasswordGrant } from './grants/password.grant.js';
import { RefreshTokenGrant } from './grants/refresh-token.grant.js';
import { KeyService } from './keys/key.service.js';
import { SigningKeyRepository, TypeOrmSigningKeyRepository } from './keys/signing-key.repository.js';
import { DiscoveryController } from './oauth/discovery.controller.js';
import { TokenController } from './oauth/token.controller.js';
import { RevocationController } from './oauth/revocation.controller.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { SessionRepository, TypeOrmSessionRepository } from './sessions/session.repository.js';

/** Keys and JWKS, client apps, sessions and refresh tokens, the token endpoint and discovery. */
@Module({
  imports: [UsersModule],
  controllers: [TokenController, RevocationController, DiscoveryController],
  providers: [
    KeyService,
    ClientsService,
    AccessTokenIssuer,
    AccessTokenVerifier,
    PasswordGrant,
    RefreshTokenGrant,
    ClientCredentialsGrant,
    { provide: KeyEncryption, inject: [AppConfig], useFactory: loadKeyEncryption },
    { provide: SigningKeyRepository, useClass: TypeOrmSigningKeyRepository },
    { provide: ClientRepository, useClass: TypeOrmClientRepository },
    { provide: SessionRepository, useClass: TypeOrmSessionRepository },
    {
      provide: RateLimiter,
      inject: [REDIS, AppConfig],
      useFactory: (redis: Redis | null, config: AppConfig) => (redis ? new RedisRateLimiter(redis, config.redisKeyPrefix) : new MemoryRateLimiter()),
    },
  ],
  exports: [KeyService, ClientsService, SessionRepository, AccessTokenIssuer, AccessTokenVerifier],
})
export class TokensModule {}
