import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/config.schema.js';
import { constantTimeEqual, randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { fromOwnPage } from '../../infra/http/same-origin.js';
import type { Session } from '../../tokens/sessions/session.repository.js';
import { SignInSessionRepository } from '../../tokens/sessions/sign-in-session.repository.js';
import { OAuthErrors } from '../oauth.errors.js';

interface Cookie {
  name: string;
  path: string;
  secure: boolean;
}

/**
 * The sign-in session's cookie. `SameSite=Lax`: a client app sends the browser here by a top-level
 * navigation from its own site, and single sign-on needs the cookie then. Under https it is
 * `__Host-` prefixed, Secure and `Path=/`; under http (local development) `Path=/oauth`.
 */
export function signInCookie(issuer: string): Cookie {
  return new URL(issuer).protocol === 'https:' ? { name: '__Host-lk_session', path: '/', secure: true } : { name: 'lk_session', path: '/oauth', secure: false };
}

const cookiesOf = (req: FastifyRequest) => (req.cookies ?? {}) as Record<string, string | undefined>;
const ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * The hosted sign-in page's browser side: the sign-in session cookie (a random 256-bit id; the
 * database holds its SHA-256 and the rest) and the form's CSRF token. A new id at every sign-in;
 * an id Latchkey did not issue matches nothing and is never adopted.
 */
@Injectable()
export class HostedSignIn {
  readonly cookie: Cookie;
  private readonly issuerOrigin: string;

  constructor(
    private readonly sessions: SignInSessionRepository,
    private readonly config: AppConfig,
  ) {
    this.cookie = signInCookie(config.issuer);
    this.issuerOrigin = new URL(config.issuer).origin;
  }

  /** The browser's live sign-in session (its user still active), or null. */
  async current(req: FastifyRequest): Promise<Session | null> {
    const id = cookiesOf(req)[this.cookie.name];
    if (!id || !ID.test(id)) return null;
    return this.sessions.findLive(sha256(id));
  }

  /** After a right password: a new sign-in session (or, for the same user, the same one under a new id). */
  async start(reply: FastifyReply, o: { userId: string; ip: string | null; userAgent: string | null; previous: Session | null }): Promise<Session | null> {
    const id = randomToken(32);
    const now = Date.now();
    const idleExpiresAt = new Date(now + this.config.signInIdleTimeout * 1000);
    const session =
      o.previous?.userId === o.userId
        ? await this.sessions.renew(o.previous.id, sha256(id), idleExpiresAt)
        : await this.sessions.create({ userId: o.userId, ip: o.ip, userAgent: o.userAgent, expiresAt: new Date(now + this.config.signInAbsoluteTimeout * 1000), idleExpiresAt }, sha256(id));
    if (!session) return null;
    reply.setCookie(this.cookie.name, id, { path: this.cookie.path, httpOnly: true, sameSite: 'lax', secure: this.cookie.secure });
    return session;
  }

  /** A use of the sign-in session (single sign-on): its idle timer restarts. */
  touch(session: Session): Promise<void> {
    return this.sessions.touch(session.id, new Date(Date.now() + this.config.signInIdleTimeout * 1000));
  }

  clear(reply: FastifyReply): void {
    reply.clearCookie(this.cookie.name, { path: this.cookie.path, httpOnly: true, sameSite: 'lax', secure: this.cookie.secure });
  }

  /**
   * The hosted forms' CSRF token, before any session: a random value in a `SameSite=Strict` cookie
   * of its own that the form repeats (double submit); nothing is stored on the server.
   */
  formToken(req: FastifyRequest, reply: FastifyReply): string {
    const known = cookiesOf(req)[this.formCookie];
    if (known && ID.test(known)) return known;
    const token = randomToken(32);
    reply.setCookie(this.formCookie, token, { path: this.cookie.path, httpOnly: true, sameSite: 'strict', secure: this.cookie.secure });
    return token;
  }

  /** A hosted form post must come from a hosted page: the Origin, and the double-submitted token. */
  checkForm(req: FastifyRequest, body: Record<string, unknown>): void {
    const expected = cookiesOf(req)[this.formCookie];
    const token = body._csrf;
    if (!fromOwnPage(req, this.issuerOrigin) || !expected || typeof token !== 'string' || !constantTimeEqual(token, expected)) {
      throw new DomainError(OAuthErrors.SIGN_IN_FORM_REJECTED, 'This form has expired or did not come from this sign-in page, so nothing was done. Go back to the application and try again.');
    }
  }

  private get formCookie(): string {
    return `${this.cookie.name}_form`;
  }
}
