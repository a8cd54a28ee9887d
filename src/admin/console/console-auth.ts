import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnModuleInit, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { fromOwnPage } from '../../infra/http/same-origin.js';
import { AUTHENTICATORS, type Authenticators } from '../../auth/authentication.guard.js';
import { AppConfig } from '../../config/config.schema.js';
import { RevocationChecker } from '../../revocation/revocation-checker.js';
import { constantTimeEqual } from '../../infra/crypto/secrets.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import type { User } from '../../users/user.js';
import { UsersService } from '../../users/users.service.js';
import { AdminErrors } from '../admin.errors.js';
import { type ConsoleSession, ConsoleSessions } from './console-sessions.js';

export type StaffRole = 'admin' | 'security';
const CONSOLE_ROLES = 'latchkey:console-roles';

/** Which staff roles may open a console page or take its action (both by default). */
export const ConsoleRoles = (...roles: StaffRole[]) => SetMetadata(CONSOLE_ROLES, roles);

/** The signed-in staff member of a console request. */
export interface ConsoleCaller {
  session: ConsoleSession;
  user: User;
  isAdmin: boolean;
}

export const isStaff = (roles: readonly string[]) => roles.includes('admin') || roles.includes('security');

/** The console request's caller (set by ConsoleAuthenticator). */
export const callerOf = (req: FastifyRequest): ConsoleCaller => (req as unknown as { console: ConsoleCaller }).console;

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * CSRF: every state-changing console request carries the session's synchronizer token (the `_csrf`
 * form field, or the `x-csrf-token` header of the page's own script), compared in constant time, and
 * an `Origin` that is this host's own. `SameSite=Strict` on the cookie is the third layer.
 */
export function checkCsrf(req: FastifyRequest, expected: string | null | undefined, issuerOrigin: string): void {
  if (SAFE_METHODS.has(req.method)) return;
  checkOrigin(req, issuerOrigin);
  const body = (req.body ?? {}) as Record<string, unknown>;
  const token = typeof body._csrf === 'string' ? body._csrf : req.headers['x-csrf-token'];
  if (!expected || typeof token !== 'string' || !constantTimeEqual(token, expected)) {
    throw new DomainError(AdminErrors.CSRF_REJECTED, 'This form has expired or did not come from this console, so nothing was changed. Reload the page and try again.');
  }
}

function checkOrigin(req: FastifyRequest, issuerOrigin: string): void {
  if (!fromOwnPage(req, issuerOrigin)) {
    throw new DomainError(AdminErrors.CSRF_REJECTED, 'This request did not come from a page of this console, so nothing was changed. Reload the page and try again.');
  }
}

/**
 * The `session` credential of the global guard: a signed-in console session whose staff member is
 * still active, still staff, and not cut off since the session began. Locking a staff member,
 * changing their roles or signing them out everywhere (all through RevocationService, which moves the
 * user's cutoff in PostgreSQL) therefore ends their console sessions at once, on every instance.
 */
@Injectable()
export class ConsoleAuthenticator implements CanActivate, OnModuleInit {
  private readonly issuerOrigin: string;

  constructor(
    private readonly sessions: ConsoleSessions,
    private readonly users: UsersService,
    private readonly checker: RevocationChecker,
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATORS) private readonly authenticators: Authenticators,
    config: AppConfig,
  ) {
    this.issuerOrigin = new URL(config.issuer).origin;
  }

  onModuleInit(): void {
    this.authenticators.session = this;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    // The page's own polling is not the staff member at work: it does not restart the idle timer.
    const session = await this.sessions.read(req, { touch: req.headers['x-requested-with'] !== 'console' });
    if (!session || session.data.stage !== 'in') throw signInRequired();
    const user = await this.users.findById(session.data.userId);
    if (!user || !(await sessionStands(this.checker, user, session))) {
      await this.sessions.destroy(ctx.switchToHttp().getResponse(), session);
      throw signInRequired();
    }
    checkCsrf(req, session.data.csrf, this.issuerOrigin);
    const allowed = this.reflector.getAllAndOverride<StaffRole[]>(CONSOLE_ROLES, [ctx.getHandler(), ctx.getClass()]) ?? ['admin', 'security'];
    if (!user.roles.some((r) => (allowed as string[]).includes(r))) {
      throw new DomainError(AdminErrors.ROLE_REQUIRED, `This needs the role ${allowed.join(' or ')}.`);
    }
    (req as unknown as { console: ConsoleCaller }).console = { session, user, isAdmin: user.roles.includes('admin') };
    return true;
  }
}

/**
 * Whether a session of `user` that began at `session.data.createdAt` still stands: the user is active
 * and staff, and no revocation since then covers it. The revocation check is the same one access
 * tokens pass (the session as a token issued when it began, to the console): a user cutoff (lock,
 * sign out everywhere, roles or password changed) and the panic button's global cutoff end it, on every
 * instance; it fails closed (503) when the revocation state cannot be read. The user's cutoff is also
 * read from PostgreSQL: a console session may outlive the denylist entry (one token lifetime), and the
 * users row keeps the cutoff. The global entry outlives any session's idle time (CONSOLE_IDLE_TIMEOUT
 * is at most ACCESS_TOKEN_TTL), so a session from before the panic button meets it on its next request.
 */
export async function sessionStands(checker: RevocationChecker, user: User, session: ConsoleSession): Promise<boolean> {
  if (user.status !== 'active' || !isStaff(user.roles)) return false;
  if ((user.tokensValidAfter?.getTime() ?? 0) >= session.data.createdAt) return false;
  const revokedBy = await checker.check({ jti: `console:${session.key}`, sub: user.id, clientId: CONSOLE_CLIENT, kid: CONSOLE_CLIENT, iatMs: session.data.createdAt });
  return revokedBy === null;
}

/** The client and key names a console session stands for in the revocation check (no client or key has them). */
const CONSOLE_CLIENT = 'latchkey-console';

export const signInRequired = () => new DomainError(AdminErrors.CONSOLE_SIGN_IN_REQUIRED, 'Sign in to the console.');
