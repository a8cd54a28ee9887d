import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config.schema.js';
import { sha256 } from '../infra/crypto/secrets.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { RateLimiter } from '../infra/rate-limit/rate-limiter.js';
import { PasswordSignIn, SIGN_IN_REFUSED, type SignInAttempt } from '../oauth/grants/password-sign-in.port.js';
import type { User } from '../users/user.js';
import { AuthErrors } from './auth.errors.js';
import { authenticateLocal } from './local.strategy.js';

/**
 * The one password check: the password grant calls it (and so will every other sign-in form).
 * Failures are counted per account and per client IP; past either limit the check answers 429 with
 * Retry-After before any hashing. A wrong password, an unknown user and a locked user get the same
 * answer after the same work (the password is hashed in every case, on the low-priority hashing
 * pool; a full pool answers 503, never "wrong password").
 */
@Injectable()
export class SignIn extends PasswordSignIn {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async signIn({ username, password, ip }: SignInAttempt): Promise<User> {
    const accountKey = `a:${sha256(username.trim().toLowerCase())}`;
    const ipKey = `ip:${ip ?? 'unknown'}`;
    const wait = await Promise.all([
      this.limiter.blockedFor(accountKey, this.config.loginMaxFailuresPerAccount),
      this.limiter.blockedFor(ipKey, this.config.loginMaxFailuresPerIp),
    ]).then(
      ([account, perIp]) => Math.max(account, perIp),
      () => {
        // Without the throttle's counters, password guessing would go unchecked: refuse for now.
        throw new DomainError(AuthErrors.SIGN_IN_UNAVAILABLE, 'sign-in is temporarily unavailable; retry shortly');
      },
    );
    if (wait > 0) throw new DomainError(AuthErrors.TOO_MANY_SIGN_IN_ATTEMPTS, 'too many failed sign-in attempts; try again later', { headers: { 'retry-after': String(wait) } });

    const user = await authenticateLocal({ body: { username, password } });
    if (!user || user.status !== 'active') {
      const window = this.config.loginThrottleWindow;
      await Promise.all([this.limiter.recordFailure(accountKey, window), this.limiter.recordFailure(ipKey, window)]).catch(() => undefined);
      throw new DomainError(AuthErrors.INVALID_CREDENTIALS, SIGN_IN_REFUSED);
    }
    return user;
  }
}
