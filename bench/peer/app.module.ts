import { Module, type Provider } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { JWKS_KEYS, KeyObjectJwtStrategy, fetchJwks } from './jwt-keyobject.strategy.js';
import { latchkey } from './jwt-checks.js';
import { JwtStrategy } from './jwt.strategy.js';
import { MeController } from './me.controller.js';

/**
 * PEER_KEYS=jwks-rsa (default): the tutorial strategy, keys through jwks-rsa's passportJwtSecret.
 * PEER_KEYS=keyobject: the JWKS fetched once at start-up into KeyObjects, looked up by `kid`.
 */
const providers: Provider[] =
  process.env.PEER_KEYS === 'keyobject'
    ? [{ provide: JWKS_KEYS, useFactory: () => fetchJwks(`${latchkey}/.well-known/jwks.json`) }, KeyObjectJwtStrategy]
    : [JwtStrategy];

@Module({
  imports: [PassportModule],
  controllers: [MeController],
  providers,
})
export class AppModule {}
