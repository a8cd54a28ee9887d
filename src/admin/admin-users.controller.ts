import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuditLog } from '../audit/audit-log.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { Database } from '../infra/database/database.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { sessionJson } from '../tokens/sessions/session.presenter.js';
import { SessionRepository } from '../tokens/sessions/session.repository.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import type { User } from '../users/user.js';
import { userJson } from '../users/user.presenter.js';
import { userNotFound } from '../users/users.errors.js';
import { UsersService } from '../users/users.service.js';
import { createUser, listQuery, setRoles, withReason } from './admin.schemas.js';
import { Staff, StaffGuard, staffContext } from './staff.guard.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';

const done = (plan: unknown) => ({ done: true, changed: plan !== null });

/** Staff find users, see their sessions, lock, unlock, sign them out everywhere, change roles. */
@Controller('admin/api')
@ApiSurface()
@UseGuards(StaffGuard)
export class AdminUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionRepository,
    private readonly revocation: RevocationService,
    private readonly audit: AuditLog,
    private readonly db: Database,
  ) {}

  private async user(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw userNotFound();
    return user;
  }

  @Get('users')
  @Staff('admin', 'security')
  async list(@Query(new ZodValidationPipe(listQuery)) q: z.infer<typeof listQuery>) {
    const page = await this.users.list(q);
    return { items: page.items.map(userJson), next_cursor: page.nextCursor };
  }

  @Get('users/:id')
  @Staff('admin', 'security')
  async get(@Param('id') id: string) {
    const user = await this.user(id);
    return { ...userJson(user), live_sessions: (await this.sessions.listLive(id)).length };
  }

  @Get('users/:id/sessions')
  @Staff('admin', 'security')
  async userSessions(@Param('id') id: string) {
    await this.user(id);
    return { sessions: (await this.sessions.listLive(id)).map(sessionJson) };
  }

  @Post('users')
  @Staff('admin')
  @HttpCode(201)
  async create(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(createUser)) body: z.infer<typeof createUser>, @Req() req: FastifyRequest) {
    const ctx = staffContext(p, body.reason, req);
    // The user and its audit row commit together, or neither does.
    const user = await this.db.transaction(async (tx) => {
      const created = await this.users.createUser({ email: body.email, password: body.password, roles: body.roles }, tx);
      await this.audit.record({ action: 'user.created', targetType: 'user', targetId: created.id, data: { email: created.email, roles: created.roles } }, ctx, tx);
      return created;
    });
    return userJson(user);
  }

  @Post('users/:id/lock')
  @Staff('admin', 'security')
  @HttpCode(200)
  async lock(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    await this.user(id);
    return done(await this.revocation.lockUser(id, staffContext(p, body.reason, req)));
  }

  @Post('users/:id/unlock')
  @Staff('admin', 'security')
  @HttpCode(200)
  async unlock(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    await this.user(id);
    return done(await this.revocation.unlockUser(id, staffContext(p, body.reason, req)));
  }

  @Post('users/:id/revoke-sessions')
  @Staff('admin', 'security')
  @HttpCode(200)
  async revokeSessions(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    await this.user(id);
    return done(await this.revocation.revokeUserSessions(id, staffContext(p, body.reason, req)));
  }

  @Put('users/:id/roles')
  @Staff('admin')
  async roles(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(setRoles)) body: z.infer<typeof setRoles>, @Req() req: FastifyRequest) {
    await this.user(id);
    await this.revocation.setRoles(id, [...new Set(body.roles)], staffContext(p, body.reason, req));
    return userJson(await this.user(id));
  }

  @Post('sessions/:sid/revoke')
  @Staff('admin', 'security')
  @HttpCode(200)
  async revokeSession(@CurrentPrincipal() p: Principal, @Param('sid') sid: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    if (!(await this.sessions.find(sid))) throw new DomainError(TokensErrors.SESSION_NOT_FOUND, 'no such session');
    return done(await this.revocation.revokeSession(sid, staffContext(p, body.reason, req), 'session.revoked'));
  }
}
