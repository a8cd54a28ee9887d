import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnModuleInit, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AUTHENTICATORS, type Authenticators } from '../../auth/authentication.guard.js';
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
export function checkCsrf(req: FastifyRequest, session: ConsoleSession | null): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.headers.origin;
  const own = `${req.protocol}://${req.headers.host ?? ''}`;
  const site = req.headers['sec-fetch-site'];
  if (!origin || origin !== own || (site !== undefined && site !== 'same-origin')) {
    throw new DomainError(AdminErrors.CSRF_REJECTED, 'This request did not come from a page of this console, so nothing was changed. Reload the page and try again.');
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  const token = typeof body._csrf === 'string' ? body._csrf : req.headers['x-csrf-token'];
  if (!session || typeof token !== 'string' || !constantTimeEqual(token, session.data.csrf)) {
    throw new DomainError(AdminErrors.CSRF_REJECTED, 'This form has expired or did not come from this console, so nothing was changed. Reload the page and try again.');
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
  constructor(
    private readonly sessions: ConsoleSessions,
    private readonly users: UsersService,
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATORS) private readonly authenticators: Authenticators,
  ) {}

  onModuleInit(): void {
    this.authenticators.session = this;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const session = await this.sessions.read(req);
    if (!session || session.data.stage !== 'in' || !session.data.userId) throw signInRequired();
    const user = await this.users.findById(session.data.userId);
    const cutoff = user?.tokensValidAfter?.getTime() ?? 0;
    if (!user || user.status !== 'active' || !isStaff(user.roles) || cutoff >= session.data.createdAt) {
      await this.sessions.destroy(ctx.switchToHttp().getResponse(), session);
      throw signInRequired();
    }
    checkCsrf(req, session);
    const allowed = this.reflector.getAllAndOverride<StaffRole[]>(CONSOLE_ROLES, [ctx.getHandler(), ctx.getClass()]) ?? ['admin', 'security'];
    if (!user.roles.some((r) => (allowed as string[]).includes(r))) {
      throw new DomainError(AdminErrors.ROLE_REQUIRED, `This needs the role ${allowed.join(' or ')}.`);
    }
    (req as unknown as { console: ConsoleCaller }).console = { session, user, isAdmin: user.roles.includes('admin') };
    return true;
  }
}

export const signInRequired = () => new DomainError(AdminErrors.CONSOLE_SIGN_IN_REQUIRED, 'Sign in to the console.');
