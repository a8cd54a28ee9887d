import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import { LocalStrategy } from './local.strategy.js';
import { MeController } from './me.controller.js';

/** Passport strategies (local for passwords, jwt for access tokens), the global guard, self-service. */
@Module({
  imports: [PassportModule.register({ session: false }), UsersModule, TokensModule],
  controllers: [MeController],
  providers: [LocalStrategy, JwtStrategy, { provide: APP_GUARD, useClass: AccessTokenGuard }],
})
export class AuthModule {}
