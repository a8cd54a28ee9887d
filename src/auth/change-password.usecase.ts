import { Injectable } from '@nestjs/common';
import type { AuditContext } from '../audit/audit-log.js';
import { PasswordHasher } from '../infra/crypto/password-hasher.js';
import { DomainError, ValidationFailed } from '../infra/errors/domain-error.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { passwordWeakness } from '../users/password-policy.js';
import { UserRepository } from '../users/user.repository.js';
import { AuthErrors, InvalidToken } from './auth.errors.js';
import { SignIn } from './sign-in.usecase.js';

export interface ChangePasswordCommand {
  userId: string;
  /** The caller's session, which stays signed in. */
  sid: string;
  currentPassword: string;
  newPassword: string;
  /** The caller's address, for the per-IP throttle. */
  ip: string | null;
  requestId: string;
}

/**
 * Checks the current password through SignIn (the same throttle and counters as every sign-in: a
 * stolen access token cannot be turned into the password by guessing), sets the new one, and ends
 * every other session of the user at once.
 */
@Injectable()
export class ChangePassword {
  constructor(
    private readonly users: UserRepository,
    private readonly signIn: SignIn,
    private readonly hasher: PasswordHasher,
    private readonly revocation: RevocationService,
  ) {}

  async execute(c: ChangePasswordCommand): Promise<void> {
    const user = await this.users.findById(c.userId);
    if (!user) throw new InvalidToken('the user no longer exists');
    try {
      await this.signIn.signIn({ username: user.email, password: c.currentPassword, ip: c.ip });
    } catch (err) {
      if (err instanceof DomainError && err.code === AuthErrors.INVALID_CREDENTIALS.code) throw new DomainError(AuthErrors.WRONG_PASSWORD, 'the current password is not correct');
      throw err;
    }
    const weakness = passwordWeakness(c.newPassword, user.email);
    if (weakness) throw new ValidationFailed([{ field: 'new_password', message: weakness }]);
    const hash = await this.hasher.hash(c.newPassword);
    const ctx: AuditContext = { actorType: 'user', actorId: c.userId, reason: 'password changed by the user', requestId: c.requestId };
    await this.revocation.changePassword(c.userId, hash, c.sid, ctx);
  }
}
