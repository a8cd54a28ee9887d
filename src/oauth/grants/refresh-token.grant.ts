import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config.schema.js';
import { randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { AccessTokenIssuer } from '../../tokens/access-token.issuer.js';
import { invalidGrant } from '../oauth.errors.js';
import { SessionRepository } from '../../tokens/sessions/session.repository.js';
import { MAX_REFRESH_TOKEN_LENGTH } from '../usecases/token-kinds.js';
import { requireGrant, requireParam, resolveScope, type TokenRequest, type TokenResponse } from './token-request.js';

const INVALID = 'the refresh token is invalid, expired or revoked';

/**
 * RFC 6749 section 6, with rotation on every use. A refresh token that was already used revokes its
 * whole session through RevocationService (the family: every refresh and access token of it), so a
 * thief and the victim are both refused afterwards. Of two concurrent uses exactly one wins.
 */
@Injectable()
export class RefreshTokenGrant {
  constructor(
    private readonly issuer: AccessTokenIssuer,
    private readonly sessions: SessionRepository,
    private readonly revocation: RevocationService,
    private readonly config: AppConfig,
  ) {}

  async execute({ client, params, requestId }: TokenRequest): Promise<TokenResponse> {
    requireGrant(client, 'refresh_token');
    const presented = requireParam(params, 'refresh_token');
    if (presented.length > MAX_REFRESH_TOKEN_LENGTH) throw invalidGrant(INVALID);

    const next = randomToken(32);
    const now = Date.now();
    const requestedScope = params.scope?.split(' ').filter(Boolean).join(' ');
    const want = { clientId: client.clientId, scope: requestedScope || undefined };
    const claim = await this.sessions.rotate(sha256(presented), sha256(next), new Date(now + this.config.sessionIdleTtl * 1000), want, (c) => {
      const { session } = c;
      // RFC 6749 section 10.4: a refresh token is bound to its client. The answer says no more than for any bad token.
      if (session.clientId !== client.clientId) throw invalidGrant(INVALID);
      if (session.revokedAt || session.expiresAt.getTime() <= now || session.idleExpiresAt.getTime() <= now || c.tokenExpiresAt.getTime() <= now) throw invalidGrant(INVALID);
      // Lock, sign-out-everywhere and client revocation end the sessions themselves; a role change
      // keeps them, and the next refresh carries the new roles.
      if (c.userStatus !== 'active') throw invalidGrant(INVALID);
      // Checked here too, so that a widened scope refuses the refresh without using the token up.
      resolveScope(params.scope, session.scope.split(' ').filter(Boolean));
    });
    if (claim.kind === 'unknown' || claim.kind === 'refused') throw invalidGrant(INVALID);
    if (claim.kind === 'reused') {
      // RFC 6749 section 10.4: a refresh token is bound to its client. Another client presenting a
      // spent one learns nothing and changes nothing: the reuse alarm is the owning client's.
      if (claim.clientId !== client.clientId) throw invalidGrant(INVALID);
      await this.revocation.revokeFamilyOnReuse(claim.sessionId, requestId);
      throw invalidGrant(INVALID);
    }

    const { session, userRoles, issuedAtMs } = claim;
    const scope = resolveScope(params.scope, session.scope.split(' ').filter(Boolean));
    const { accessToken, expiresIn } = await this.issuer.issue({ sub: session.userId, clientId: client.clientId, sid: session.id, scope, roles: userRoles, issuedAtMs });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, refresh_token: next, scope };
  }
}
