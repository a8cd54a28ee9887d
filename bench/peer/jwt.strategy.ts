import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { passportJwtSecret } from 'jwks-rsa';
import { Strategy } from 'passport-jwt';
import { jwtChecks, latchkey } from './jwt-checks.js';

/**
 * The tutorial JWT strategy: the key comes from the issuer's JWKS by `kid` (jwks-rsa fetches it on
 * first use and caches it), passport-jwt checks the ES256 signature, `iss`, `aud` and `exp`, and
 * the payload becomes `req.user`.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({
      secretOrKeyProvider: passportJwtSecret({
        cache: true,
        rateLimit: true,
        jwksRequestsPerMinute: 5,
        jwksUri: `${latchkey}/.well-known/jwks.json`,
      }),
      ...jwtChecks,
    });
  }

  validate(payload: Record<string, unknown>): Record<string, unknown> {
    return payload;
  }
}
