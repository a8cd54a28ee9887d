import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { AuditContext } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { AdminErrors } from './admin.errors.js';

const STAFF_ROLES = 'latchkey:staff-roles';

/** Which staff roles may call a route: `security` finds, locks, unlocks and revokes; `admin` does everything. */
export const Staff = (...roles: ('admin' | 'security')[]) => SetMetadata(STAFF_ROLES, roles);

/** Runs after the global authentication guard: the caller is authenticated; this checks its roles. */
@Injectable()
export class StaffGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const allowed = this.reflector.getAllAndOverride<string[]>(STAFF_ROLES, [ctx.getHandler(), ctx.getClass()]) ?? ['admin'];
    const principal = ctx.switchToHttp().getRequest().user as Principal | undefined;
    if (!principal?.sid) throw new DomainError(AdminErrors.STAFF_ONLY, 'The admin API needs a staff member’s token.');
    if (!principal.roles.some((r) => allowed.includes(r))) {
      throw new DomainError(AdminErrors.ROLE_REQUIRED, `This call needs the role ${allowed.join(' or ')}.`);
    }
    return true;
  }
}

/** The audit context of a staff call: the staff member, their reason, the request id. */
export const staffContext = (p: Principal, reason: string, req: FastifyRequest): AuditContext => ({ actorType: 'admin', actorId: p.sub, reason, requestId: String(req.id) });
