import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config.schema.js';
import { randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { AccessTokenIssuer } from '../../tokens/access-token.issuer.js';
import { AuthorizationCodeRepository } from '../../tokens/codes/authorization-code.repository.js';
import { OidcTokens } from '../../tokens/oidc-tokens.js';
import { SessionRepository } from '../../tokens/sessions/session.repository.js';
import { invalidGrant } from '../oauth.errors.js';
import { requireGrant, requireParam, sessionWindow, type TokenRequest, type TokenResponse } from './token-request.js';

const INVALID = 'the authorization code is invalid, expired or already used, or the client, redirect_uri or code_verifier does not match it';
/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** RFC 7636 section 4.6: BASE64URL(SHA256(ASCII(code_verifier))). */
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/**
 * RFC 6749 section 4.1.3 with PKCE (RFC 7636) and OpenID Connect Core section 3.1.3. The code is
 * single use: a code presented again revokes every token its first redemption issued (RFC 6749
 * section 4.1.2), through RevocationService. The session it starts is a child of the sign-in session
 * the code was issued in, and is created only while that one (and the user) still stands.
 */
@Injectable()
export class AuthorizationCodeGrant {
  constructor(
    private readonly codes: AuthorizationCodeRepository,
    private readonly sessions: SessionRepository,
    private readonly issuer: AccessTokenIssuer,
    private readonly oidc: OidcTokens,
    private readonly revocation: RevocationService,
    private readonly config: AppConfig,
  ) {}

  async execute(req: TokenRequest): Promise<TokenResponse> {
    const { client, params } = req;
    requireGrant(client, 'authorization_code');
    const code = requireParam(params, 'code');
    const redirectUri = requireParam(params, 'redirect_uri');
    const verifier = params.code_verifier;
    // RFC 7636 section 4.6: a verifier that fails verification, malformed or not, is invalid_grant.
    if (verifier !== undefined && !VERIFIER.test(verifier)) throw invalidGrant(INVALID);
    if (code.length > 100) throw invalidGrant(INVALID);

    const hash = sha256(code);
    const sid = randomUUID();
    // The bindings are part of the claim: another client, another redirect URI, a wrong or missing
    // verifier, or a verifier for a code issued without a challenge (RFC 9700 section 2.1.1: a
    // downgrade attempt) match nothing and use nothing up.
    const redemption = await this.codes.redeem(hash, sid, { clientId: client.clientId, redirectUri, verifierS256: verifier === undefined ? null : s256(verifier) });
    if (redemption.kind === 'unknown') throw invalidGrant(INVALID);
    if (redemption.kind === 'reused') {
      if (redemption.sessionId) await this.revokeFirstRedemption(redemption.sessionId, req.requestId);
      throw invalidGrant(INVALID);
    }
    const g = redemption.grant;

    const refreshToken = client.grantTypes.includes('refresh_token') ? randomToken(32) : null;
    const { expiresAt, idleExpiresAt } = sessionWindow(this.config);
    const created = await this.sessions.create(
      { id: sid, userId: g.userId, clientId: client.clientId, scope: g.scope, ip: req.ip, userAgent: req.userAgent, expiresAt, idleExpiresAt, parentId: g.signInSessionId, authTime: g.authTime },
      refreshToken ? sha256(refreshToken) : null,
      expiresAt,
    );
    // The user was locked, or signed out of the sign-in session, since the code was issued.
    if (!created) throw invalidGrant(INVALID);
    // Presented again while this redemption was under way: what it issued is revoked, and nothing is handed out.
    if (await this.codes.wasReused(hash)) {
      await this.revokeFirstRedemption(sid, req.requestId);
      throw invalidGrant(INVALID);
    }
    const { session, issuedAtMs, roles } = created;
    const { accessToken, expiresIn } = await this.issuer.issue({ sub: g.userId, clientId: client.clientId, sid: session.id, scope: g.scope, roles, issuedAtMs });
    const openid = g.scope.split(' ').includes('openid');
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: expiresIn,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
      scope: g.scope,
      ...(openid ? { id_token: this.oidc.idToken({ sub: g.userId, clientId: client.clientId, sid: session.id, authTime: g.authTime, nonce: g.nonce, accessToken }) } : {}),
    };
  }

  private async revokeFirstRedemption(sid: string, requestId: string): Promise<void> {
    await this.revocation.revokeSession(sid, { actorType: 'system', actorId: null, reason: 'an authorization code was presented again', requestId }, 'authorization_code.reused');
  }
}
