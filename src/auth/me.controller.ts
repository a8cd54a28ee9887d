import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { PasswordHasher } from '../infra/crypto/password-hasher.js';
import { ValidationFailed } from '../infra/errors/domain-error.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { passwordWeakness } from '../users/password-policy.js';
import { UsersService } from '../users/users.service.js';
import type { FastifyRequest } from 'fastify';
import { RevocationService } from '../revocation/revocation.service.js';
import { SessionRepository, type Session } from '../tokens/sessions/session.repository.js';
import { UserRepository } from '../users/user.repository.js';
import { InvalidToken, Forbidden } from './auth.errors.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { DomainError } from '../infra/errors/domain-error.js';

const passwordChange = z.object({ current_password: z.string().min(1).max(1024), new_password: z.string().min(1).max(1024) });

function requireUser(p: Principal): { userId: string; sid: string } {
  if (!p.sid) throw new Forbidden('USER_TOKEN_REQUIRED', 'This endpoint needs a token issued to a user, not to a client acting for itself.');
  return { userId: p.sub, sid: p.sid };
}

const sessionJson = (s: Session, current: string) => ({
  sid: s.id,
  client_id: s.clientId,
  created_at: s.createdAt.toISOString(),
  last_seen_at: s.lastSeenAt.toISOString(),
  expires_at: s.expiresAt.toISOString(),
  idle_expires_at: s.idleExpiresAt.toISOString(),
  ip: s.ip,
  user_agent: s.userAgent,
  current: s.id === current,
});

/** What a signed-in user may do for themself: read their profile and sessions, end sessions. */
@Controller()
export class MeController {
  private readonly emails = new LRUCache<string, string>({ max: 50_000 });

  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly revocation: RevocationService,
    private readonly usersService: UsersService,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * The caller's profile. The token was just checked against the denylist, so its user is active
   * and its roles are current (a role change refuses older tokens); only the email, which never
   * changes, is read from the database, once, then from memory.
   */
  @Get('userinfo')
  async userinfo(@CurrentPrincipal() p: Principal) {
    const { userId } = requireUser(p);
    let email = this.emails.get(userId);
    if (!email) {
      const user = await this.users.findById(userId);
      if (!user) throw new InvalidToken('the user no longer exists');
      email = user.email;
      this.emails.set(userId, email);
    }
    return { sub: userId, email, roles: p.roles };
  }

  @Get('me/sessions')
  async mySessions(@CurrentPrincipal() p: Principal) {
    const { userId, sid } = requireUser(p);
    return { sessions: (await this.sessions.listLive(userId)).map((s) => sessionJson(s, sid)) };
  }

  @Delete('me/sessions/:sid')
  @HttpCode(204)
  async endMySession(@CurrentPrincipal() p: Principal, @Param('sid') target: string, @Req() req: FastifyRequest): Promise<void> {
    const { userId } = requireUser(p);
    const session = await this.sessions.find(target);
    if (!session || session.userId !== userId) throw new DomainError('SESSION_NOT_FOUND', 404, 'no such session of yours');
    await this.revocation.revokeSession(target, { actorType: 'user', actorId: userId, reason: 'ended by the user', requestId: String(req.id) }, 'session.revoked');
  }

  /** Checks the current password, sets the new one, and ends every other session of the user at once. */
  @Post('me/password')
  @HttpCode(204)
  async changePassword(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(passwordChange)) body: z.infer<typeof passwordChange>, @Req() req: FastifyRequest): Promise<void> {
    const { userId, sid } = requireUser(p);
    const user = await this.users.findById(userId);
    if (!user) throw new InvalidToken('the user no longer exists');
    if (!(await this.usersService.verifyPassword(user.email, body.current_password))) {
      throw new DomainError('WRONG_PASSWORD', 403, 'the current password is not correct');
    }
    const weakness = passwordWeakness(body.new_password, user.email);
    if (weakness) throw new ValidationFailed([{ field: 'new_password', message: weakness }]);
    const hash = await this.hasher.hash(body.new_password);
    await this.revocation.changePassword(userId, hash, sid, { actorType: 'user', actorId: userId, reason: 'password changed by the user', requestId: String(req.id) });
  }

  @Post('auth/logout')
  @HttpCode(204)
  async logout(@CurrentPrincipal() p: Principal, @Req() req: FastifyRequest): Promise<void> {
    const { userId, sid } = requireUser(p);
    await this.revocation.revokeSession(sid, { actorType: 'user', actorId: userId, reason: 'logout', requestId: String(req.id) }, 'session.logout');
  }
}
