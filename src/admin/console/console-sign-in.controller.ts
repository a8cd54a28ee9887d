import { Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditLog } from '../../audit/audit-log.js';
import { AuthErrors } from '../../auth/auth.errors.js';
import { SignIn } from '../../auth/sign-in.usecase.js';
import { AppConfig } from '../../config/config.schema.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { Public } from '../../infra/http/credential.decorator.js';
import { RevocationChecker } from '../../revocation/revocation-checker.js';
import { UsersService } from '../../users/users.service.js';
import { AdminErrors } from '../admin.errors.js';
import { checkCsrf, isStaff, sessionStands } from './console-auth.js';
import { ConsoleDocs, ConsoleForm, ConsolePage } from './console-docs.js';
import { ConsoleSurface } from './console-error.filter.js';
import { type ConsoleSession, ConsoleSessions } from './console-sessions.js';
import { formOf, seeOther, sendPage } from './form.js';
import { codePage, enrolPage, recoveryCodesPage, signInPage } from './sign-in.pages.js';
import { StaffSecondFactor } from './staff-second-factor.js';

/** A wrong, replayed or throttled code: the form again, with the reason. */
const isCodeRefusal = (err: unknown): err is DomainError => err instanceof DomainError && (err.spec === AdminErrors.INVALID_SECOND_FACTOR || err.spec === AdminErrors.TOO_MANY_CODE_ATTEMPTS);

const SIGN_IN_FAILED = 'Sign-in failed: the email or password is wrong, or the account may not use the console.';

/**
 * Staff sign-in: email and password through the same SignIn use case and throttle as every other
 * password check, then a TOTP or recovery code (or, the first time, TOTP enrolment). A session is
 * stored only once the password is right, and each later step issues a new id; only a session at
 * stage `in` opens the console.
 */
@ConsoleDocs(false)
@Controller('admin')
@ConsoleSurface()
@Public()
export class ConsoleSignInController {
  private readonly issuerOrigin: string;

  constructor(
    private readonly sessions: ConsoleSessions,
    private readonly signIn: SignIn,
    private readonly users: UsersService,
    private readonly factor: StaffSecondFactor,
    private readonly checker: RevocationChecker,
    private readonly audit: AuditLog,
    config: AppConfig,
  ) {
    this.issuerOrigin = new URL(config.issuer).origin;
  }

  @Get()
  @ConsolePage('The console: to the users page, or to sign-in')
  async root(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const s = await this.sessions.read(req);
    seeOther(reply, s?.data.stage === 'in' ? '/admin/users' : '/admin/login');
  }

  @Get('login')
  @ConsolePage('Staff sign-in: email and password')
  async loginForm(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query('signed_out') signedOut?: string) {
    const s = await this.sessions.read(req);
    if (s?.data.stage === 'in') return seeOther(reply, '/admin/users');
    sendPage(reply, signInPage(this.sessions.loginToken(req, reply), { flash: signedOut === '1' ? 'You are signed out.' : undefined }));
  }

  @Post('login')
  @ConsoleForm('Check the email and password (303 to the code or enrolment step)', 303, AuthErrors.INVALID_CREDENTIALS, AuthErrors.TOO_MANY_SIGN_IN_ATTEMPTS, AuthErrors.SIGN_IN_UNAVAILABLE)
  async login(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    checkCsrf(req, this.sessions.loginTokenOf(req), this.issuerOrigin);
    const previous = await this.sessions.read(req, { touch: false });
    const form = formOf(req);
    const email = (form.email ?? '').trim().slice(0, 254);
    const again = (status: number, error: string) => sendPage(reply, signInPage(this.sessions.loginToken(req, reply), { error, email }), status);
    let userId: string;
    try {
      const user = await this.signIn.signIn({ username: email, password: form.password ?? '', ip: req.ip });
      if (!isStaff(user.roles)) return again(401, SIGN_IN_FAILED);
      userId = user.id;
    } catch (err) {
      if (err instanceof DomainError && err.spec === AuthErrors.INVALID_CREDENTIALS) return again(401, SIGN_IN_FAILED);
      if (err instanceof DomainError && err.spec === AuthErrors.TOO_MANY_SIGN_IN_ATTEMPTS) {
        if (err.headers) void reply.headers(err.headers);
        return again(429, 'Too many failed sign-ins. Wait a few minutes before you try again.');
      }
      throw err;
    }
    if (await this.factor.isEnrolled(userId)) {
      await this.sessions.issue(reply, { userId, stage: 'code' }, previous);
      return seeOther(reply, '/admin/login/code');
    }
    const enrolment = await this.factor.newEnrolment(email);
    await this.sessions.issue(reply, { userId, stage: 'enrol', pendingSecret: enrolment.sealed }, previous);
    seeOther(reply, '/admin/enrol');
  }

  @Get('login/code')
  @ConsolePage('Second step: a TOTP or recovery code')
  async codeForm(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const s = await this.sessions.read(req);
    if (s?.data.stage !== 'code') return seeOther(reply, '/admin/login');
    sendPage(reply, codePage(s.data.csrf));
  }

  @Post('login/code')
  @ConsoleForm('Check the code (303 to the console)', 303, AdminErrors.INVALID_SECOND_FACTOR, AdminErrors.TOO_MANY_CODE_ATTEMPTS)
  async code(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const s = await this.sessions.read(req);
    checkCsrf(req, s?.data.csrf, this.issuerOrigin);
    if (s?.data.stage !== 'code') return seeOther(reply, '/admin/login');
    let used: 'totp' | 'recovery';
    try {
      used = await this.factor.verify(s.data.userId, formOf(req).code ?? '');
    } catch (err) {
      if (!isCodeRefusal(err)) throw err;
      if (err.headers) void reply.headers(err.headers);
      return sendPage(reply, codePage(s.data.csrf, err.message), err.status);
    }
    if (!(await this.stands(s))) return this.refuse(reply, s);
    if (used === 'recovery') {
      const left = await this.factor.recoveryCodesLeft(s.data.userId);
      await this.audit.record({ action: 'staff.recovery_code_used', targetType: 'user', targetId: s.data.userId, data: { left } }, this.context(s.data.userId, req, 'console sign-in with a recovery code'));
    }
    await this.sessions.issue(reply, { userId: s.data.userId, stage: 'in' }, s);
    seeOther(reply, '/admin/users');
  }

  @Get('enrol')
  @ConsolePage('First sign-in: set up TOTP (QR code and secret)')
  async enrolForm(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const s = await this.sessions.read(req);
    if (s?.data.stage !== 'enrol' || !s.data.pendingSecret) return seeOther(reply, '/admin/login');
    const user = await this.users.findById(s.data.userId);
    sendPage(reply, enrolPage(s.data.csrf, await this.factor.newEnrolment(user?.email ?? '', s.data.pendingSecret)));
  }

  @Post('enrol')
  @ConsoleForm('Confirm TOTP with a first code; shows the ten recovery codes once', 200, AdminErrors.INVALID_SECOND_FACTOR, AdminErrors.TOO_MANY_CODE_ATTEMPTS)
  async enrol(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const s = await this.sessions.read(req);
    checkCsrf(req, s?.data.csrf, this.issuerOrigin);
    if (s?.data.stage !== 'enrol' || !s.data.pendingSecret) return seeOther(reply, '/admin/login');
    if (!(await this.stands(s))) return this.refuse(reply, s);
    let codes: string[];
    try {
      codes = await this.factor.confirmEnrolment(s.data.userId, s.data.pendingSecret, formOf(req).code ?? '');
    } catch (err) {
      if (!isCodeRefusal(err)) throw err;
      const user = await this.users.findById(s.data.userId);
      if (err.headers) void reply.headers(err.headers);
      return sendPage(reply, enrolPage(s.data.csrf, await this.factor.newEnrolment(user?.email ?? '', s.data.pendingSecret), err.message), err.status);
    }
    await this.audit.record({ action: 'staff.totp_enrolled', targetType: 'user', targetId: s.data.userId }, this.context(s.data.userId, req, 'two-step verification set up at console sign-in'));
    await this.sessions.issue(reply, { userId: s.data.userId, stage: 'in' }, s);
    sendPage(reply, recoveryCodesPage(codes));
  }

  /** Sign-out ends the session on the server. */
  @Post('logout')
  @ConsoleForm('Sign out: the session ends on the server', 303)
  async logout(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const s = await this.sessions.read(req, { touch: false });
    checkCsrf(req, s?.data.csrf, this.issuerOrigin);
    await this.sessions.destroy(reply, s);
    seeOther(reply, '/admin/login?signed_out=1');
  }

  /** The half-finished sign-in still stands: the password step was not revoked since (a lock, "sign out everywhere", the panic button). */
  private async stands(s: ConsoleSession): Promise<boolean> {
    const user = await this.users.findById(s.data.userId);
    return !!user && (await sessionStands(this.checker, user, s));
  }

  private async refuse(reply: FastifyReply, s: ConsoleSession) {
    await this.sessions.destroy(reply, s);
    throw new DomainError(AdminErrors.CONSOLE_SIGN_IN_REQUIRED, SIGN_IN_FAILED);
  }

  private context(userId: string, req: FastifyRequest, reason: string) {
    return { actorType: 'user' as const, actorId: userId, reason, requestId: String(req.id) };
  }
}
