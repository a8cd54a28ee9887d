import { Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '../config/config.schema.js';
import { PasswordHashingBusy } from '../infra/crypto/password-hasher.js';
import { sha256 } from '../infra/crypto/secrets.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { Metrics } from '../infra/metrics/metrics.js';
import { RateLimiter } from '../infra/rate-limit/rate-limiter.js';
import { PasswordSignIn, SIGN_IN_REFUSED, type SignInAttempt } from '../oauth/grants/password-sign-in.port.js';
import type { User } from '../users/user.js';
import { AuthErrors } from './auth.errors.js';
import { authenticateLocal } from './local.strategy.js';

/**
 * The one password check: the password grant and `POST /me/password` call it (and so will every
 * other sign-in form). Attempts are counted per account and per client IP, reserved before the
 * password is checked (an attempt in flight counts) and given back when it succeeds; past either
 * limit the check answers 429 with Retry-After before any hashing. A wrong password, an unknown user and a locked user get the same
 * answer after the same work (the password is hashed in every case, on the low-priority hashing
 * pool; a full pool answers 503, never "wrong password").
 */
@Injectable()
export class SignIn extends PasswordSignIn {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    super();
  }

  async signIn({ username, password, ip }: SignInAttempt): Promise<User> {
    const counters = [
      { key: `a:${sha256(username.trim().toLowerCase())}`, limit: this.config.loginMaxFailuresPerAccount },
      { key: `ip:${ip ?? 'unknown'}`, limit: this.config.loginMaxFailuresPerIp },
    ];
    await this.reserve(counters);
    let user: User | false;
    try {
      user = await authenticateLocal({ body: { username, password } });
    } catch (err) {
      // Not evaluated (the hashing pool is full, say): not a failed guess.
      await this.release(counters);
      this.metrics?.login(err instanceof PasswordHashingBusy ? 'shed' : 'error');
      throw err;
    }
    if (!user || user.status !== 'active') {
      this.metrics?.login('failure');
      throw new DomainError(AuthErrors.INVALID_CREDENTIALS, SIGN_IN_REFUSED); // the reservation stays: a failure
    }
    await this.release(counters);
    this.metrics?.login('success');
    return user;
  }

  /**
   * Reserves the attempt on every counter before the password is checked, so that attempts in flight
   * count too; past a limit nothing is reserved and the answer is 429 with Retry-After.
   */
  private async reserve(counters: { key: string; limit: number }[]): Promise<void> {
    const window = this.config.loginThrottleWindow;
    const reserved: { key: string }[] = [];
    let wait = 0;
    try {
      for (const c of counters) {
        const w = await this.limiter.reserve(c.key, c.limit, window);
        if (w > 0) wait = Math.max(wait, w);
        else reserved.push(c);
      }
    } catch {
      // Without the throttle's counters, password guessing would go unchecked: refuse for now.
      await this.release(reserved);
      this.metrics?.login('unavailable');
      throw new DomainError(AuthErrors.SIGN_IN_UNAVAILABLE, 'sign-in is temporarily unavailable; retry shortly');
    }
    if (wait > 0) {
      await this.release(reserved);
      this.metrics?.login('throttled');
      throw new DomainError(AuthErrors.TOO_MANY_SIGN_IN_ATTEMPTS, 'too many failed sign-in attempts; try again later', { headers: { 'retry-after': String(wait) } });
    }
  }

  private async release(counters: { key: string }[]): Promise<void> {
    await Promise.all(counters.map((c) => this.limiter.release(c.key))).catch(() => undefined);
  }
}
