import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import { AppConfig } from '../config/config.schema.js';
import { KeyService, SIGNING_ALG } from './keys/key.service.js';

/** OpenID Connect Back-Channel Logout 1.0 section 2.4: the `events` member of a logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface IdTokenSubject {
  sub: string;
  clientId: string;
  /** The client's login session (the `sid` its access tokens carry). */
  sid: string;
  authTime: Date;
  nonce: string | null;
  /** The access token issued beside it (for `at_hash`). */
  accessToken: string;
}

/** What an `id_token_hint` said, once its signature and issuer were checked. */
export interface IdTokenHint {
  sub: string;
  aud: string;
  sid?: string;
}

/** OpenID Connect Core 1.0 section 3.1.3.6: the left half of the SHA-256 of the access token, base64url. */
export const atHash = (accessToken: string) => createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');

/**
 * ID tokens (OpenID Connect Core 1.0 section 2) and back-channel logout tokens, signed ES256 with
 * the same keys as access tokens and verifiable with the same JWK Set.
 */
@Injectable()
export class OidcTokens {
  constructor(
    private readonly keys: KeyService,
    private readonly config: AppConfig,
  ) {}

  idToken(s: IdTokenSubject): string {
    const iat = Math.floor(Date.now() / 1000);
    return this.sign(
      {
        iss: this.config.issuer,
        sub: s.sub,
        aud: s.clientId,
        azp: s.clientId,
        iat,
        exp: iat + this.config.accessTokenTtl,
        auth_time: Math.floor(s.authTime.getTime() / 1000),
        ...(s.nonce ? { nonce: s.nonce } : {}),
        sid: s.sid,
        at_hash: atHash(s.accessToken),
      },
      'JWT',
    );
  }

  /** Back-Channel Logout 1.0 section 2.4: `iss`, `aud`, `iat`, `exp`, `jti`, `events`, `sub` and `sid`; never a `nonce`. */
  logoutToken(l: { sub: string; sid: string; clientId: string; jti?: string }): string {
    const iat = Math.floor(Date.now() / 1000);
    return this.sign(
      { iss: this.config.issuer, aud: l.clientId, iat, exp: iat + 120, jti: l.jti ?? randomUUID(), events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, sub: l.sub, sid: l.sid },
      'logout+jwt',
    );
  }

  /**
   * An `id_token_hint` (RP-Initiated Logout 1.0 section 2): signed by one of our keys and issued by
   * us; it may have expired. Null when it is not one of ours, or its key is gone.
   */
  verifyHint(token: string): IdTokenHint | null {
    if (token.length > 8192) return null;
    const decoded = jwt.decode(token, { complete: true });
    // An ID token, not an access token (`at+jwt`) or a logout token passed off as one.
    if (!decoded || typeof decoded !== 'object' || decoded.header.typ !== 'JWT') return null;
    const kid = decoded.header.kid;
    const key = kid ? this.keys.verificationKey(kid) : undefined;
    if (!key) return null;
    try {
      const claims = jwt.verify(token, key, { algorithms: [SIGNING_ALG], issuer: this.config.issuer, ignoreExpiration: true }) as jwt.JwtPayload;
      if (typeof claims.sub !== 'string' || typeof claims.aud !== 'string') return null;
      return { sub: claims.sub, aud: claims.aud, sid: typeof claims.sid === 'string' ? claims.sid : undefined };
    } catch {
      return null;
    }
  }

  private sign(claims: Record<string, unknown>, typ: string): string {
    const { kid, privateKey } = this.keys.signingKey();
    return jwt.sign(claims, privateKey, { algorithm: SIGNING_ALG, header: { alg: SIGNING_ALG, typ, kid } });
  }
}
