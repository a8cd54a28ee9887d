import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy, type StrategyOptionsWithRequest } from 'passport-jwt';
import { AppConfig } from '../config/config.schema.js';
import { RevocationStateUnavailable } from '../revocation/revocation.errors.js';
import { RevocationChecker } from '../revocation/revocation-checker.js';
import { checkClaims } from '../tokens/access-token.verifier.js';
import { KeyService, SIGNING_ALG } from '../tokens/keys/key.service.js';
import { InvalidToken } from './auth.errors.js';
import type { Principal } from './principal.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8 * 1024;

const bearer = ExtractJwt.fromAuthHeaderAsBearerToken();

interface Header {
  alg?: string;
  typ?: string;
  kid?: string;
}

function decodeHeader(raw: string): Header | null {
  try {
    return JSON.parse(Buffer.from(raw.slice(0, raw.indexOf('.')), 'base64url').toString('utf8')) as Header;
  } catch {
    return null;
  }
}

/** What the key provider learnt of the token, for validate() on the same request. */
interface VerifiedRequest {
  latchkeyToken?: { raw: string; kid?: string };
}

interface Claims {
  sub?: unknown;
  client_id?: unknown;
  sid?: unknown;
  scope?: unknown;
  roles?: unknown;
  jti?: unknown;
  iat_ms?: unknown;
  iat?: unknown;
  exp?: unknown;
}

type Verifier = (token: string, key: unknown, options: unknown, done: (err: Error | null, payload?: Record<string, unknown>) => void) => void;

/**
 * passport-jwt's signature check, through a cache of tokens already verified (see
 * VerifiedTokenCache). passport-jwt looks its verifier up on the class for every request; this wraps
 * it once. Everything before it (the header checks in secretOrKeyProvider) and after it (claims,
 * revocation) still runs on every request.
 */
function cacheVerifications(cache: VerifiedTokenCache): void {
  const strategyClass = Strategy as unknown as { JwtVerifier: Verifier; __latchkeyOriginal?: Verifier };
  const original = (strategyClass.__latchkeyOriginal ??= strategyClass.JwtVerifier);
  strategyClass.JwtVerifier = (token, key, options, done) => {
    const hit = cache.get(token);
    if (hit) return done(null, hit);
    original(token, key, options, (err, payload) => {
      if (!err && payload) cache.set(token, payload);
      done(err, payload);
    });
  };
}

/**
 * passport-jwt with the algorithm pinned to ES256, `typ` at+jwt, `iss`, `aud` and `exp` checked, and
 * the key found by `kid` in the in-memory key cache. A verified token is then checked against the
 * denylist: one round trip.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: KeyService,
    config: AppConfig,
    private readonly revocations: RevocationChecker,
  ) {
    super(<StrategyOptionsWithRequest>(<unknown>{
      jwtFromRequest: (req: never) => {
        const token = bearer(req);
        if (token && token.length > MAX_TOKEN_BYTES) throw new InvalidToken('token too large');
        return token;
      },
      secretOrKeyProvider: (req: VerifiedRequest, raw: string, done: (err: unknown, key?: unknown) => void) => {
        const header = decodeHeader(raw);
        // validate() needs the kid and the raw token too: keep them rather than decode again.
        req.latchkeyToken = { raw, kid: header?.kid };
        if (!header) return done(new InvalidToken('malformed token'));
        if (header.alg !== SIGNING_ALG) return done(new InvalidToken('unexpected algorithm'));
        if (typeof header.typ !== 'string' || !['at+jwt', 'application/at+jwt'].includes(header.typ.toLowerCase())) return done(new InvalidToken('not an access token (typ)'));
        if (typeof header.kid !== 'string') return done(new InvalidToken('unknown signing key'));
        keys.findVerificationKey(header.kid).then(
          // A revoked key stays refused even after its denylist entry expires: its holder could mint more.
          (key) => (key ? done(null, key) : done(new InvalidToken(keys.isRevoked(header.kid!) ? 'token revoked' : 'unknown signing key'))),
          // The key store could not be read: that is an outage (503), not a bad token.
          () => done(new RevocationStateUnavailable('the signing keys cannot be read')),
        );
      },
      algorithms: [SIGNING_ALG],
      issuer: config.issuer,
      audience: config.accessTokenAudience,
      ignoreExpiration: false,
      passReqToCallback: true,
    }));
    cacheVerifications(new VerifiedTokenCache({ maxEntries: config.verifiedTokenCacheEntries, maxBytes: config.verifiedTokenCacheEntries * 1024 }));
    this.accessTokenTtl = config.accessTokenTtl;
  }

  private readonly accessTokenTtl: number;

  async validate(req: VerifiedRequest, payload: Claims): Promise<Principal> {
    const c = checkClaims(payload as Record<string, unknown>, this.accessTokenTtl);
    if (!c) throw new InvalidToken('missing or inconsistent claims');
    const { raw, kid } = req.latchkeyToken as { raw: string; kid: string };
    const principal: Principal = {
      sub: c.sub,
      clientId: c.client_id,
      sid: typeof c.sid === 'string' ? c.sid : undefined,
      scope: typeof c.scope === 'string' ? c.scope : '',
      roles: Array.isArray(c.roles) ? c.roles.filter((r: unknown): r is string => typeof r === 'string') : [],
      jti: c.jti,
      kid,
      iatMs: c.iat_ms,
      exp: c.exp,
      token: raw,
    };
    // Fails closed: RevocationStateUnavailable (503) when the denylist cannot be read.
    const revoked = await this.revocations.check({ jti: principal.jti, sid: principal.sid, sub: principal.sub, clientId: principal.clientId, kid, iatMs: principal.iatMs });
    if (revoked) throw new InvalidToken('token revoked');
    return principal;
  }
}
