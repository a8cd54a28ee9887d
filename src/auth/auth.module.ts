import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/config.schema.js';
import { MemoryRateLimiter, RateLimiter, RedisRateLimiter } from '../infra/rate-limit/rate-limiter.js';
import { REDIS, type RedisClient } from '../infra/redis/redis.module.js';
import { PasswordSignIn } from '../oauth/grants/password-sign-in.port.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { AUTHENTICATORS, AuthenticationGuard, type Authenticators } from './authentication.guard.js';
import { ChangePassword } from './change-password.usecase.js';
import { JwtStrategy } from './jwt.strategy.js';
import { LocalStrategy } from './local.strategy.js';
import { MeController } from './me.controller.js';
import { SignIn } from './sign-in.usecase.js';

/**
 * Passport strategies (local for passwords, jwt for access tokens), the global guard and its
 * authenticators, the SignIn use case (tokens' PasswordSignIn port, hence global), self-service.
 */
@Global()
@Module({
  imports: [PassportModule.register({ session: false }), UsersModule, TokensModule],
  controllers: [MeController],
  providers: [
    LocalStrategy,
    JwtStrategy,
    AccessTokenGuard,
    SignIn,
    ChangePassword,
    { provide: PasswordSignIn, useExisting: SignIn },
    { provide: AUTHENTICATORS, inject: [AccessTokenGuard], useFactory: (bearer: AccessTokenGuard): Authenticators => ({ bearer }) },
    { provide: APP_GUARD, useClass: AuthenticationGuard },
    {
      provide: RateLimiter,
      inject: [REDIS, AppConfig],
      useFactory: (redis: RedisClient | null, config: AppConfig) => (redis ? new RedisRateLimiter(redis, config.redisKeyPrefix) : new MemoryRateLimiter()),
    },
  ],
  exports: [PasswordSignIn, SignIn, RateLimiter, AUTHENTICATORS],
})
export class AuthModule {}
