import { Injectable } from '@nestjs/common';
import { errors, jwtVerify, type JWTHeaderParameters } from 'jose';
import { AppConfig } from '../config/config.schema.js';
import type { AccessTokenClaims } from './access-token.issuer.js';
import { KeyService, SIGNING_ALG } from './keys/key.service.js';

export const MAX_CLOCK_SKEW_MS = 30_000;

/** How much longer than ACCESS_TOKEN_TTL a token may claim to live: a lifetime setting lowered while tokens are out. */
export const LIFETIME_LEEWAY_SECONDS = 60;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An identifier as Latchkey issues them: printable ASCII, no space, bounded. */
const OPAQUE_ID = /^[\x21-\x7E]{1,200}$/;

/**
 * The claims a token must carry, typed, or null: shared by the guard and by introspection. Even a
 * correctly signed token is refused when it claims to live longer than tokens are issued for
 * (`maxLifetimeSeconds` plus a leeway), or carries ids Latchkey never issues (a user token's `sub`
 * and `sid` are UUIDs), so nothing malformed reaches a lookup.
 */
export function checkClaims(c: Record<string, unknown>, maxLifetimeSeconds: number): AccessTokenClaims | null {
  const ok =
    typeof c.sub === 'string' &&
    typeof c.client_id === 'string' &&
    typeof c.jti === 'string' &&
    typeof c.iat === 'number' &&
    typeof c.iat_ms === 'number' &&
    typeof c.exp === 'number' &&
    // iat_ms drives every cutoff comparison: it must agree with iat, and neither may lie in the future.
    Math.floor(c.iat_ms / 1000) === c.iat &&
    c.iat_ms <= Date.now() + MAX_CLOCK_SKEW_MS &&
    c.exp - c.iat <= maxLifetimeSeconds + LIFETIME_LEEWAY_SECONDS &&
    OPAQUE_ID.test(c.client_id) &&
    OPAQUE_ID.test(c.jti) &&
    // A user's token (it has a session) names the user and the session by UUID; a client's names the client.
    (c.sid === undefined ? OPAQUE_ID.test(c.sub) : typeof c.sid === 'string' && UUID.test(c.sid) && UUID.test(c.sub));
  return ok ? (c as unknown as AccessTokenClaims) : null;
}

/**
 * Verifies a Latchkey access token outside the request guard (introspection, RFC 7009 revocation),
 * with the same rules: ES256 only, typ at+jwt, our issuer and audience, a key we publish.
 */
@Injectable()
export class AccessTokenVerifier {
  constructor(
    private readonly keys: KeyService,
    private readonly config: AppConfig,
  ) {}

  /** The verified claims and kid, or null. `allowExpired` is for revocation of a token that just expired. */
  async verify(token: string, { allowExpired = false } = {}): Promise<{ claims: AccessTokenClaims; kid: string } | null> {
    if (token.length > 8192 || token.split('.').length !== 3) return null;
    try {
      const { payload, protectedHeader } = await jwtVerify(
        token,
        async (header: JWTHeaderParameters) => {
          const key = header.kid ? await this.keys.findVerificationKey(header.kid) : undefined;
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        {
          issuer: this.config.issuer,
          audience: this.config.accessTokenAudience,
          algorithms: [SIGNING_ALG],
          typ: 'at+jwt',
          currentDate: allowExpired ? new Date(0) : undefined,
        },
      );
      const claims = checkClaims(payload as Record<string, unknown>, this.config.accessTokenTtl);
      return claims ? { claims, kid: protectedHeader.kid! } : null;
    } catch {
      return null;
    }
  }
}
