import { type CanActivate, type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Forbidden } from '../auth/auth.errors.js';
import type { Principal } from '../auth/principal.js';

const STAFF_ROLES = 'latchkey:staff-roles';

/** Which staff roles may call a route: `security` finds, locks, unlocks and revokes; `admin` does everything. */
export const Staff = (...roles: ('admin' | 'security')[]) => SetMetadata(STAFF_ROLES, roles);

/** Runs after the global access-token guard: the token is valid; this checks its roles. */
@Injectable()
export class StaffGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const allowed = this.reflector.getAllAndOverride<string[]>(STAFF_ROLES, [ctx.getHandler(), ctx.getClass()]) ?? ['admin'];
    const principal = ctx.switchToHttp().getRequest().user as Principal | undefined;
    if (!principal?.sid) throw new Forbidden('STAFF_ONLY', 'The admin API needs a staff member’s token.');
    if (!principal.roles.some((r) => allowed.includes(r))) {
      throw new Forbidden('ROLE_REQUIRED', `This call needs the role ${allowed.join(' or ')}.`);
    }
    return true;
  }
}
