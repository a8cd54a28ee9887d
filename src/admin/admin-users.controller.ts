import { Body, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuditLog } from '../audit/audit-log.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { Database } from '../infra/database/database.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { ApiErrors, DATE_TIME, ZodBody, ZodQuery } from '../infra/http/openapi.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { sessionJson } from '../tokens/sessions/session.presenter.js';
import { SessionRepository } from '../tokens/sessions/session.repository.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import type { User } from '../users/user.js';
import { userJson } from '../users/user.presenter.js';
import { userNotFound, UsersErrors } from '../users/users.errors.js';
import { UsersService } from '../users/users.service.js';
import { createUser, listQuery, setRoles, withReason } from './admin.schemas.js';
import { Staff, staffContext } from './staff.guard.js';
import { AdminApi, CHANGE_ERRORS, STAFF_ERRORS, staffRoles as roles } from './admin-api.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A user id as the revocation takes it: one that cannot name a user is not found (and never reaches PostgreSQL's uuid parser). */
const userId = (id: string): string => {
  if (!UUID.test(id)) throw userNotFound();
  return id;
};

/** `audit_id`: the revocation's audit row, the key of its webhook deliveries (GET /admin/api/audit/{id}/deliveries). */
const done = (plan: { auditId?: string } | null) => ({ done: true, changed: plan !== null, audit_id: plan?.auditId ?? null });


const USER = {
  type: 'object',
  required: ['id', 'email', 'roles', 'status', 'tokens_valid_after', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    email: { type: 'string', format: 'email' },
    roles: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: ['active', 'locked'] },
    tokens_valid_after: { ...DATE_TIME, nullable: true, description: "The user's cutoff: tokens issued before it are refused." },
    created_at: DATE_TIME,
    updated_at: DATE_TIME,
  },
};

const SESSION = {
  type: 'object',
  required: ['sid', 'user_id', 'client_id', 'kind', 'parent_sid', 'scope', 'ip', 'user_agent', 'created_at', 'last_seen_at', 'expires_at', 'idle_expires_at'],
  properties: {
    sid: { type: 'string', format: 'uuid' },
    user_id: { type: 'string', format: 'uuid' },
    client_id: { type: 'string', description: 'The client app; `latchkey:sign-in` for a sign-in session of the hosted sign-in page.' },
    kind: { type: 'string', enum: ['client', 'sign_in'], description: '`sign_in`: the hosted sign-in page’s session (single sign-on); `client`: a client app’s login session.' },
    parent_sid: { type: 'string', format: 'uuid', nullable: true, description: 'For a client session begun through the hosted sign-in page: its sign-in session (ending that one ends this one).' },
    scope: { type: 'string' },
    ip: { type: 'string', nullable: true },
    user_agent: { type: 'string', nullable: true },
    created_at: DATE_TIME,
    last_seen_at: DATE_TIME,
    expires_at: DATE_TIME,
    idle_expires_at: DATE_TIME,
  },
};

const DONE = {
  type: 'object',
  required: ['done', 'changed'],
  properties: {
    done: { type: 'boolean', enum: [true] },
    changed: { type: 'boolean', description: 'false when there was nothing to change (the call is idempotent).' },
    audit_id: { type: 'string', nullable: true, description: "The revocation's audit row: GET /admin/api/audit/{id}/deliveries follows its webhook deliveries." },
  },
};

/** Staff find users, see their sessions, lock, unlock, sign them out everywhere, change roles. */
@AdminApi()
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
  @ApiOperation({ summary: 'Find users', description: `Oldest first, a page at a time (\`next_cursor\`). ${roles('admin', 'security')}` })
  @ZodQuery(listQuery)
  @ApiOkResponse({ description: 'A page of users.', schema: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: USER }, next_cursor: { type: 'string', nullable: true } } } })
  @ApiErrors(...STAFF_ERRORS, HttpErrors.VALIDATION_FAILED)
  async list(@Query(new ZodValidationPipe(listQuery)) q: z.infer<typeof listQuery>) {
    const page = await this.users.list(q);
    return { items: page.items.map(userJson), next_cursor: page.nextCursor };
  }

  @Get('users/:id')
  @Staff('admin', 'security')
  @ApiOperation({ summary: 'One user', description: roles('admin', 'security') })
  @ApiOkResponse({ description: 'The user and how many live sessions they have.', schema: { ...USER, required: [...USER.required, 'live_sessions'], properties: { ...USER.properties, live_sessions: { type: 'integer' } } } })
  @ApiErrors(...STAFF_ERRORS, UsersErrors.USER_NOT_FOUND)
  async get(@Param('id') id: string) {
    const user = await this.user(id);
    return { ...userJson(user), live_sessions: (await this.sessions.listLive(id)).length };
  }

  @Get('users/:id/sessions')
  @Staff('admin', 'security')
  @ApiOperation({ summary: "A user's live sessions", description: roles('admin', 'security') })
  @ApiOkResponse({ description: 'The live sessions.', schema: { type: 'object', required: ['sessions'], properties: { sessions: { type: 'array', items: SESSION } } } })
  @ApiErrors(...STAFF_ERRORS, UsersErrors.USER_NOT_FOUND)
  async userSessions(@Param('id') id: string) {
    await this.user(id);
    return { sessions: (await this.sessions.listLive(id)).map(sessionJson) };
  }

  @Post('users')
  @Staff('admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a user', description: roles('admin') })
  @ZodBody(createUser)
  @ApiCreatedResponse({ description: 'The new user.', schema: USER })
  @ApiErrors(...STAFF_ERRORS, HttpErrors.VALIDATION_FAILED, UsersErrors.INVALID_EMAIL, UsersErrors.WEAK_PASSWORD, UsersErrors.INVALID_ROLE, UsersErrors.EMAIL_TAKEN, HttpErrors.PASSWORD_HASHING_BUSY)
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
  @ApiOperation({ summary: 'Lock a user', description: `No sign-in, no refresh; every session ends and every token of the user is refused everywhere before this returns. ${roles('admin', 'security')}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Locked.', schema: DONE })
  @ApiErrors(...CHANGE_ERRORS, UsersErrors.USER_NOT_FOUND)
  async lock(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    // No read first: the lock takes the user's row in its own transaction and answers USER_NOT_FOUND itself.
    return done(await this.revocation.lockUser(userId(id), staffContext(p, body.reason, req)));
  }

  @Post('users/:id/unlock')
  @Staff('admin', 'security')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unlock a user', description: roles('admin', 'security') })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Unlocked.', schema: DONE })
  @ApiErrors(...CHANGE_ERRORS, UsersErrors.USER_NOT_FOUND)
  async unlock(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    return done(await this.revocation.unlockUser(userId(id), staffContext(p, body.reason, req)));
  }

  @Post('users/:id/revoke-sessions')
  @Staff('admin', 'security')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign a user out everywhere', description: `Every session ends; every token issued before now is refused. ${roles('admin', 'security')}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Signed out.', schema: DONE })
  @ApiErrors(...CHANGE_ERRORS, UsersErrors.USER_NOT_FOUND)
  async revokeSessions(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    return done(await this.revocation.revokeUserSessions(userId(id), staffContext(p, body.reason, req)));
  }

  @Put('users/:id/roles')
  @Staff('admin')
  @ApiOperation({ summary: "Set a user's roles", description: `Tokens carrying the old roles are refused; sessions refresh into the new roles. ${roles('admin')}` })
  @ZodBody(setRoles)
  @ApiOkResponse({ description: 'The user with the new roles.', schema: USER })
  @ApiErrors(...CHANGE_ERRORS, UsersErrors.USER_NOT_FOUND, UsersErrors.INVALID_ROLE)
  async roles(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(setRoles)) body: z.infer<typeof setRoles>, @Req() req: FastifyRequest) {
    await this.user(id);
    await this.revocation.setRoles(id, [...new Set(body.roles)], staffContext(p, body.reason, req));
    return userJson(await this.user(id));
  }

  @Post('sessions/:sid/revoke')
  @Staff('admin', 'security')
  @HttpCode(200)
  @ApiOperation({ summary: 'End one session', description: roles('admin', 'security') })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Ended.', schema: DONE })
  @ApiErrors(...CHANGE_ERRORS, TokensErrors.SESSION_NOT_FOUND)
  async revokeSession(@CurrentPrincipal() p: Principal, @Param('sid') sid: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    if (!(await this.sessions.find(sid))) throw new DomainError(TokensErrors.SESSION_NOT_FOUND, 'no such session');
    return done(await this.revocation.revokeSession(sid, staffContext(p, body.reason, req), 'session.revoked'));
  }
}
