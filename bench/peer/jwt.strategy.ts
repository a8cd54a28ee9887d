import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { passportJwtSecret } from 'jwks-rsa';
import { ExtractJwt, Strategy } from 'passport-jwt';

const latchkey = (process.env.LATCHKEY_URL ?? '').replace(/\/+$/, '');
if (!latchkey) throw new Error('LATCHKEY_URL is required (Latchkey\'s base URL)');

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
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      issuer: process.env.LATCHKEY_ISSUER ?? latchkey,
      audience: process.env.LATCHKEY_AUDIENCE ?? latchkey,
      algorithms: ['ES256'],
    });
  }

  validate(payload: Record<string, unknown>): Record<string, unknown> {
    return payload;
  }
}
