import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/config.schema.js';
import { randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { AccessTokenIssuer } from '../../tokens/access-token.issuer.js';
import { invalidGrant } from '../oauth.errors.js';
import { SessionRepository } from '../../tokens/sessions/session.repository.js';
import { PasswordSignIn, SIGN_IN_REFUSED } from './password-sign-in.port.js';
import { requireGrant, requireParam, resolveScope, sessionWindow, type TokenRequest, type TokenResponse } from './token-request.js';

/**
 * RFC 6749 section 4.3. The password check is auth's SignIn (throttled, equal-time for unknown and
 * locked users); every login is a new session.
 */
@Injectable()
export class PasswordGrant {
  constructor(
    private readonly issuer: AccessTokenIssuer,
    private readonly sessions: SessionRepository,
    private readonly signIn: PasswordSignIn,
    private readonly config: AppConfig,
  ) {}

  async execute(req: TokenRequest): Promise<TokenResponse> {
    const { client, params } = req;
    requireGrant(client, 'password');
    const username = requireParam(params, 'username');
    const password = requireParam(params, 'password');
    const scope = resolveScope(params.scope, client.scopes);
    const user = await this.signIn.signIn({ username, password, ip: req.ip });

    const refreshToken = randomToken(32);
    const { expiresAt, idleExpiresAt } = sessionWindow(this.config);
    const created = await this.sessions.create(
      { userId: user.id, clientId: client.clientId, scope, ip: req.ip, userAgent: req.userAgent, expiresAt, idleExpiresAt },
      sha256(refreshToken),
      expiresAt,
    );
    // Locked between the password check and now: same answer as any refusal.
    if (!created) throw invalidGrant(SIGN_IN_REFUSED);
    const { session, issuedAtMs, roles } = created;
    const { accessToken, expiresIn } = await this.issuer.issue({ sub: user.id, clientId: client.clientId, sid: session.id, scope, roles, issuedAtMs });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refreshToken, scope };
  }
}
