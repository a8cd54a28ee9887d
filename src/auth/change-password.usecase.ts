import { Injectable } from '@nestjs/common';
import type { AuditContext } from '../audit/audit-log.js';
import { PasswordHasher } from '../infra/crypto/password-hasher.js';
import { DomainError, ValidationFailed } from '../infra/errors/domain-error.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { passwordWeakness } from '../users/password-policy.js';
import { UserRepository } from '../users/user.repository.js';
import { UsersService } from '../users/users.service.js';
import { AuthErrors, InvalidToken } from './auth.errors.js';

export interface ChangePasswordCommand {
  userId: string;
  /** The caller's session, which stays signed in. */
  sid: string;
  currentPassword: string;
  newPassword: string;
  requestId: string;
}

/** Checks the current password, sets the new one, and ends every other session of the user at once. */
@Injectable()
export class ChangePassword {
  constructor(
    private readonly users: UserRepository,
    private readonly usersService: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly revocation: RevocationService,
  ) {}

  async execute(c: ChangePasswordCommand): Promise<void> {
    const user = await this.users.findById(c.userId);
    if (!user) throw new InvalidToken('the user no longer exists');
    if (!(await this.usersService.verifyPassword(user.email, c.currentPassword))) {
      throw new DomainError(AuthErrors.WRONG_PASSWORD, 'the current password is not correct');
    }
    const weakness = passwordWeakness(c.newPassword, user.email);
    if (weakness) throw new ValidationFailed([{ field: 'new_password', message: weakness }]);
    const hash = await this.hasher.hash(c.newPassword);
    const ctx: AuditContext = { actorType: 'user', actorId: c.userId, reason: 'password changed by the user', requestId: c.requestId };
    await this.revocation.changePassword(c.userId, hash, c.sid, ctx);
  }
}
