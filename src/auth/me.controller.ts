import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { DomainError } from '../infra/errors/domain-error.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { ApiErrors, BEARER, COMMON_API_ERRORS, DATE_TIME, ZodBody } from '../infra/http/openapi.js';
import { RevocationErrors } from '../revocation/revocation.errors.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { ownSessionJson } from '../tokens/sessions/session.presenter.js';
import { SessionRepository } from '../tokens/sessions/session.repository.js';
import { TokensErrors } from '../tokens/tokens.errors.js';
import { UserRepository } from '../users/user.repository.js';
import { AuthErrors, InvalidToken } from './auth.errors.js';
import { ChangePassword } from './change-password.usecase.js';
import { CurrentPrincipal, type Principal } from './principal.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';

const passwordChange = z.object({
  current_password: z.string().min(1).max(1024).describe('The current password.'),
  new_password: z.string().min(1).max(1024).describe('At least 12 characters, not a common password, not containing the email’s local part.'),
});

/** What every route here may answer: no token, a bad or revoked one, a token of a client acting for itself. */
const USER_TOKEN_ERRORS = [...COMMON_API_ERRORS, AuthErrors.TOKEN_REQUIRED, AuthErrors.INVALID_TOKEN, AuthErrors.USER_TOKEN_REQUIRED, RevocationErrors.REVOCATION_STATE_UNAVAILABLE];

const OWN_SESSION = {
  type: 'object',
  required: ['sid', 'client_id', 'kind', 'parent_sid', 'created_at', 'last_seen_at', 'expires_at', 'idle_expires_at', 'ip', 'user_agent', 'current'],
  properties: {
    sid: { type: 'string', format: 'uuid' },
    client_id: { type: 'string', description: 'The client app; `latchkey:sign-in` for a sign-in session of the hosted sign-in page.' },
    kind: { type: 'string', enum: ['client', 'sign_in'], description: '`sign_in`: the hosted sign-in page’s session (single sign-on); `client`: a client app’s login session.' },
    parent_sid: { type: 'string', format: 'uuid', nullable: true, description: 'For a client session begun through the hosted sign-in page: its sign-in session (ending that one ends this one).' },
    created_at: DATE_TIME,
    last_seen_at: DATE_TIME,
    expires_at: { ...DATE_TIME, description: 'The absolute end (REFRESH_TOKEN_TTL after sign-in).' },
    idle_expires_at: { ...DATE_TIME, description: 'When it ends if it is not used (SESSION_IDLE_TTL).' },
    ip: { type: 'string', nullable: true },
    user_agent: { type: 'string', nullable: true },
    current: { type: 'boolean', description: 'The session of the token making this call.' },
  },
};

const USERINFO = {
  type: 'object',
  required: ['sub', 'roles'],
  properties: {
    sub: { type: 'string', format: 'uuid' },
    email: { type: 'string', format: 'email', description: 'Without the `openid` scope always; with it, with the `email` scope.' },
    preferred_username: { type: 'string', description: 'With the `openid` and `profile` scopes: the email.' },
    roles: { type: 'array', items: { type: 'string' } },
  },
};

function requireUser(p: Principal): { userId: string; sid: string } {
  if (!p.sid) throw new DomainError(AuthErrors.USER_TOKEN_REQUIRED, 'This endpoint needs a token issued to a user, not to a client acting for itself.');
  return { userId: p.sub, sid: p.sid };
}

/** What a signed-in user may do for themself: read their profile and sessions, end sessions. */
@ApiTags('me')
@ApiBearerAuth(BEARER)
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
   * changes, is read from the database, once, then from memory. A token with the `openid` scope gets
   * the OpenID Connect answer (Core section 5.3): `sub`, `email` with the `email` scope,
   * `preferred_username` with `profile`; `roles` always.
   */
  @Get('userinfo')
  @ApiOperation({ summary: "The caller's profile (OpenID Connect UserInfo)", description: 'For a token issued to a user. Without the `openid` scope: `sub`, `email` and `roles`. With it (OpenID Connect Core section 5.3): `sub`, `email` with the `email` scope, `preferred_username` with `profile`, and `roles`. The roles are those of the token, which are current: a role change refuses older tokens. Browsers may call it from a client’s allowed origins (CORS).' })
  @ApiOkResponse({ description: 'The profile.', schema: USERINFO })
  @ApiErrors(...USER_TOKEN_ERRORS)
  userinfo(@CurrentPrincipal() p: Principal) {
    return this.profile(p);
  }

  @Post('userinfo')
  @HttpCode(200)
  @ApiOperation({ summary: "The caller's profile, by POST", description: 'The same as `GET /userinfo` (OpenID Connect Core section 5.3.1 allows both).' })
  @ApiOkResponse({ description: 'The profile.', schema: USERINFO })
  @ApiErrors(...USER_TOKEN_ERRORS)
  userinfoByPost(@CurrentPrincipal() p: Principal) {
    return this.profile(p);
  }

  private async profile(p: Principal) {
    const { userId } = requireUser(p);
    let email = this.emails.get(userId);
    if (!email) {
      const user = await this.users.findById(userId);
      if (!user) throw new InvalidToken('the user no longer exists');
      email = user.email;
      this.emails.set(userId, email);
    }
    const scopes = p.scope.split(' ');
    if (!scopes.includes('openid')) return { sub: userId, email, roles: p.roles };
    return {
      sub: userId,
      ...(scopes.includes('email') ? { email } : {}),
      ...(scopes.includes('profile') ? { preferred_username: email } : {}),
      roles: p.roles,
    };
  }

  @Get('me/sessions')
  @ApiOperation({ summary: "The caller's live sessions" })
  @ApiOkResponse({ description: 'Every live session of the user, the current one marked.', schema: { type: 'object', required: ['sessions'], properties: { sessions: { type: 'array', items: OWN_SESSION } } } })
  @ApiErrors(...USER_TOKEN_ERRORS)
  async mySessions(@CurrentPrincipal() p: Principal) {
    const { userId, sid } = requireUser(p);
    return { sessions: (await this.sessions.listLive(userId)).map((s) => ownSessionJson(s, sid)) };
  }

  @Delete('me/sessions/:sid')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of my sessions', description: 'Its refresh token stops working and its access tokens are refused everywhere before this returns.' })
  @ApiNoContentResponse({ description: 'Ended.' })
  @ApiErrors(...USER_TOKEN_ERRORS, TokensErrors.SESSION_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async endMySession(@CurrentPrincipal() p: Principal, @Param('sid') target: string, @Req() req: FastifyRequest): Promise<void> {
    const { userId } = requireUser(p);
    const session = await this.sessions.find(target);
    if (!session || session.userId !== userId) throw new DomainError(TokensErrors.SESSION_NOT_FOUND, 'no such session of yours');
    await this.revocation.revokeSession(target, { actorType: 'user', actorId: userId, reason: 'ended by the user', requestId: String(req.id) }, 'session.revoked');
  }

  /** Checks the current password, sets the new one, and ends every other session of the user at once. */
  @Post('me/password')
  @HttpCode(204)
  @ApiOperation({ summary: 'Change my password', description: 'Checks the current password, sets the new one, and ends every other session of the user at once.' })
  @ZodBody(passwordChange)
  @ApiNoContentResponse({ description: 'Changed.' })
  @ApiErrors(...USER_TOKEN_ERRORS, HttpErrors.VALIDATION_FAILED, AuthErrors.WRONG_PASSWORD, AuthErrors.TOO_MANY_SIGN_IN_ATTEMPTS, AuthErrors.SIGN_IN_UNAVAILABLE, HttpErrors.PASSWORD_HASHING_BUSY, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async changePassword(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(passwordChange)) body: z.infer<typeof passwordChange>, @Req() req: FastifyRequest): Promise<void> {
    const { userId, sid } = requireUser(p);
    await this.changePasswordUseCase.execute({ userId, sid, currentPassword: body.current_password, newPassword: body.new_password, ip: req.ip ?? null, requestId: String(req.id) });
  }

  @Post('auth/logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out', description: "Ends the token's session: its refresh token stops working and its access tokens are refused everywhere before this returns." })
  @ApiNoContentResponse({ description: 'Signed out.' })
  @ApiErrors(...USER_TOKEN_ERRORS, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async logout(@CurrentPrincipal() p: Principal, @Req() req: FastifyRequest): Promise<void> {
    const { userId, sid } = requireUser(p);
    await this.revocation.revokeSession(sid, { actorType: 'user', actorId: userId, reason: 'logout', requestId: String(req.id) }, 'session.logout');
  }
}
