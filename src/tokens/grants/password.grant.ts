import { Injectable } from '@nestjs/common';
import { authenticateLocal } from '../../auth/local.strategy.js';
import { AppConfig } from '../../config/config.schema.js';
import { randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { RateLimiter } from '../../infra/rate-limit/rate-limiter.js';
import { AccessTokenIssuer } from '../access-token.issuer.js';
import { OAuthError, invalidGrant } from '../oauth/oauth.error.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { requireGrant, requireParam, resolveScope, type TokenRequest, type TokenResponse } from './token-request.js';

const BAD_CREDENTIALS = 'the username or password is incorrect, or the account cannot sign in';

/**
 * RFC 6749 section 4.3. A wrong password, an unknown user and a locked user get the same answer in
 * about the same time (the password is hashed in every case). Failures are counted per account and
 * per client IP; past the limit the grant answers 429 with Retry-After. Every login is a new session.
 */
@Injectable()
export class PasswordGrant {
  constructor(
    private readonly issuer: AccessTokenIssuer,
    private readonly sessions: SessionRepository,
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
  ) {}

  async execute(req: TokenRequest): Promise<TokenResponse> {
    const { client, params } = req;
    requireGrant(client, 'password');
    const username = requireParam(params, 'username').trim().toLowerCase();
    requireParam(params, 'password');
    const scope = resolveScope(params.scope, client.scopes);

    const accountKey = `a:${sha256(username)}`;
    const ipKey = `ip:${req.ip ?? 'unknown'}`;
    const wait = await Promise.all([
      this.limiter.blockedFor(accountKey, this.config.loginMaxFailuresPerAccount),
      this.limiter.blockedFor(ipKey, this.config.loginMaxFailuresPerIp),
    ]).then(
      ([account, ip]) => Math.max(account, ip),
      () => {
        // Without the throttle's counters, password guessing would go unchecked: refuse for now.
        throw new OAuthError('temporarily_unavailable', 'sign-in is temporarily unavailable; retry shortly', 503, { 'retry-after': '1' });
      },
    );
    if (wait > 0) throw new OAuthError('too_many_requests', 'too many failed sign-in attempts; try again later', 429, { 'retry-after': String(wait) });

    const user = await authenticateLocal(req.raw);
    if (user === 'missing') throw new OAuthError('invalid_request', 'the username and password parameters are required');
    if (!user || user.status !== 'active') {
      await Promise.all([this.limiter.recordFailure(accountKey, this.config.loginThrottleWindow), this.limiter.recordFailure(ipKey, this.config.loginThrottleWindow)]).catch(
        () => undefined,
      );
      throw invalidGrant(BAD_CREDENTIALS);
    }

    const now = Date.now();
    const refreshToken = randomToken(32);
    const expiresAt = new Date(now + this.config.refreshTokenTtl * 1000);
    const created = await this.sessions.create(
      {
        userId: user.id,
        clientId: client.clientId,
        scope,
        ip: req.ip,
        userAgent: req.userAgent,
        expiresAt,
        idleExpiresAt: new Date(Math.min(now + this.config.sessionIdleTtl * 1000, expiresAt.getTime())),
      },
      sha256(refreshToken),
      expiresAt,
    );
    // Locked between the password check and now: same answer as any refusal.
    if (!created) throw invalidGrant(BAD_CREDENTIALS);
    const { session, issuedAtMs, roles } = created;
    const { accessToken, expiresIn } = await this.issuer.issue({ sub: user.id, clientId: client.clientId, sid: session.id, scope, roles, issuedAtMs });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refreshToken, scope };
  }
}
