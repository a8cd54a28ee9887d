import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { DomainError } from '../infra/errors/domain-error.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { ownSessionJson } from '../tokens/sessions/session.presenter.js';
import { SessionRepository } from '../tokens/sessions/session.repository.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import { UserRepository } from '../users/user.repository.js';
import { AuthErrors, InvalidToken } from './auth.errors.js';
import { ChangePassword } from './change-password.usecase.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';

const passwordChange = z.object({ current_password: z.string().min(1).max(1024), new_password: z.string().min(1).max(1024) });

function requireUser(p: Principal): { userId: string; sid: string } {
  if (!p.sid) throw new DomainError(AuthErrors.USER_TOKEN_REQUIRED, 'This endpoint needs a token issued to a user, not to a client acting for itself.');
  return { userId: p.sub, sid: p.sid };
}

/** What a signed-in user may do for themself: read their profile and sessions, end sessions. */
@Controller()
@ApiSurface()
export class MeController {
  private readonly emails = new LRUCache<string, string>({ max: 50_000 });

  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly revocation: RevocationService,
    private readonly changePasswordUseCase: ChangePassword,
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
    return { sessions: (await this.sessions.listLive(userId)).map((s) => ownSessionJson(s, sid)) };
  }

  @Delete('me/sessions/:sid')
  @HttpCode(204)
  async endMySession(@CurrentPrincipal() p: Principal, @Param('sid') target: string, @Req() req: FastifyRequest): Promise<void> {
    const { userId } = requireUser(p);
    const session = await this.sessions.find(target);
    if (!session || session.userId !== userId) throw new DomainError(TokensErrors.SESSION_NOT_FOUND, 'no such session of yours');
    await this.revocation.revokeSession(target, { actorType: 'user', actorId: userId, reason: 'ended by the user', requestId: String(req.id) }, 'session.revoked');
  }

  /** Checks the current password, sets the new one, and ends every other session of the user at once. */
  @Post('me/password')
  @HttpCode(204)
  async changePassword(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(passwordChange)) body: z.infer<typeof passwordChange>, @Req() req: FastifyRequest): Promise<void> {
    const { userId, sid } = requireUser(p);
    await this.changePasswordUseCase.execute({ userId, sid, currentPassword: body.current_password, newPassword: body.new_password, ip: req.ip ?? null, requestId: String(req.id) });
  }

  @Post('auth/logout')
  @HttpCode(204)
  async logout(@CurrentPrincipal() p: Principal, @Req() req: FastifyRequest): Promise<void> {
    const { userId, sid } = requireUser(p);
    await this.revocation.revokeSession(sid, { actorType: 'user', actorId: userId, reason: 'logout', requestId: String(req.id) }, 'session.logout');
  }
}
