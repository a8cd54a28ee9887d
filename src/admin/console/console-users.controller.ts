import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import Bowser from 'bowser';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditLog } from '../../audit/audit-log.js';
import { AppConfig } from '../../config/config.schema.js';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { Database } from '../../infra/database/database.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { Credential } from '../../infra/http/credential.decorator.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { ClientsService } from '../../tokens/clients/clients.service.js';
import { type Session, SessionRepository } from '../../tokens/sessions/session.repository.js';
import { TokensErrors } from '../../tokens/tokens.errors.js';
import { ROLE_PATTERN, type User } from '../../users/user.js';
import { decodeUserCursor } from '../../users/user-cursor.js';
import { userNotFound, UsersErrors } from '../../users/users.errors.js';
import { UsersService } from '../../users/users.service.js';
import { WebhooksService } from '../../webhooks/webhooks.service.js';
import { callerOf, type ConsoleCaller, ConsoleRoles, isStaff } from './console-auth.js';
import { RevocationErrors } from '../../revocation/revocation.errors.js';
import { ConsoleSurface } from './console-error.filter.js';
import { ConsoleDocs, ConsoleForm, ConsolePage } from './console-docs.js';
import { confirmed, formOf, seeOther } from './form.js';
import { html, time, when } from '../../infra/http/html.js';
import { actionForm, rowActionForm, table } from './layout.js';
import { consoleContext, ConsoleView, incidentOr } from './staff-actions.js';
import { StaffSecondFactor } from './staff-second-factor.js';

/** A search that is a user id opens that user (an email search is a substring match). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE_SIZE = 25;

/** "Chrome 131 on macOS", from a session's user agent. */
export function deviceOf(userAgent: string | null): string {
  if (!userAgent) return 'unknown';
  const ua = Bowser.parse(userAgent);
  const browser = [ua.browser.name, ua.browser.version?.split('.')[0]].filter(Boolean).join(' ');
  const os = ua.os.name ?? '';
  if (!browser && !os) return userAgent.slice(0, 60);
  return os ? `${browser || 'unknown browser'} on ${os}` : browser;
}

const statusBadge = (status: string) => html`<span class="state state-${status}">${status}</span>`;

/** Users: find them, see their sessions, lock, unlock, sign out everywhere, end one session, change roles, reset a staff member's second factor. */
@ConsoleDocs(true)
@Controller('admin')
@ConsoleSurface()
@Credential('session')
export class ConsoleUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly sessionsRepo: SessionRepository,
    private readonly revocation: RevocationService,
    private readonly webhooks: WebhooksService,
    private readonly factor: StaffSecondFactor,
    private readonly audit: AuditLog,
    private readonly db: Database,
    private readonly view: ConsoleView,
    private readonly clients: ClientsService,
    config: AppConfig,
  ) {
    this.accessTokenTtl = config.accessTokenTtl;
  }

  private readonly accessTokenTtl: number;

  @Get('users')
  @ConsolePage('Users: search by email or id, paginated')
  async list(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query('q') qRaw?: string, @Query('cursor') cursorRaw?: string) {
    const c = callerOf(req);
    const q = typeof qRaw === 'string' ? qRaw.trim().slice(0, 254) : '';
    const cursor = typeof cursorRaw === 'string' && decodeUserCursor(cursorRaw) ? cursorRaw : undefined;
    let items: User[];
    let next: string | null = null;
    if (UUID.test(q)) {
      const one = await this.users.findById(q);
      items = one ? [one] : [];
    } else {
      const found = await this.users.list({ q: q || undefined, cursor, limit: PAGE_SIZE });
      items = found.items;
      next = found.nextCursor;
    }
    const activity = await this.sessionsRepo.activity(items.map((u) => u.id));
    const rows = items.map((u) => {
      const a = activity.get(u.id);
      return html`<tr>
        <td class="wrap"><a href="/admin/users/${u.id}">${u.email}</a><br><code class="muted">${u.id}</code></td>
        <td>${statusBadge(u.status)}</td>
        <td>${u.roles.length ? u.roles.join(', ') : html`<span class="muted">none</span>`}</td>
        <td>${time(a?.lastSeenAt)}</td>
        <td>${a?.live ?? 0}</td>
      </tr>`;
    });
    const body = html`<form method="get" action="/admin/users" class="filters" role="search">
  <div class="field"><label for="q">Email or user id</label><input id="q" name="q" type="search" value="${q}"></div>
  <button type="submit">Search</button>
</form>
${table('Users', ['User', 'Status', 'Roles', 'Last seen', 'Live sessions'], rows, q ? 'No user matches.' : 'No users yet.')}
<nav class="pager" aria-label="Pages">
  ${when(cursor, () => html`<a href="/admin/users${q ? `?q=${encodeURIComponent(q)}` : ''}">First page</a>`)}
  ${when(next, () => html`<a href="/admin/users?${new URLSearchParams({ ...(q ? { q } : {}), cursor: next! }).toString()}">Next page</a>`)}
</nav>`;
    await this.view.send(reply, c, { title: 'Users', section: 'users' }, body);
  }

  @Get('users/:id')
  @ConsolePage('One user: profile, live sessions, actions, the impact of a lock', UsersErrors.USER_NOT_FOUND)
  async show(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const user = await this.user(id);
    const sessions = await this.sessionsRepo.listLive(user.id);
    const clientNames = new Map((await this.clients.list()).map((k) => [k.clientId, k.name]));
    const notified = (await this.webhooks.list()).filter((s) => s.enabled && (s.eventTypes === null || s.eventTypes.includes('user.locked')));
    const staff = isStaff(user.roles);
    const enrolled = staff ? await this.factor.isEnrolled(user.id) : false;
    const csrf = c.session.data.csrf;
    const sessionRows = sessions.map(
      (s: Session) => html`<tr>
      <td>${clientNames.get(s.clientId) ?? s.clientId}<br><code class="muted">${s.clientId}</code></td><td>${deviceOf(s.userAgent)}</td><td>${s.ip ?? html`<span class="muted">unknown</span>`}</td>
      <td>${time(s.createdAt)}</td><td>${time(s.lastSeenAt)}</td>
      <td>${rowActionForm({ id: `end-${s.id}`, action: `/admin/sessions/${s.id}/revoke`, csrf, button: 'End session', what: `end session ${s.id} (${deviceOf(s.userAgent)})` })}</td></tr>`,
    );
    const impact = html`<div class="impact" id="lock-impact">
  <p><strong>Locking ${user.email}</strong> refuses every sign-in and every token of the account, on every instance, before the confirmation returns.</p>
  <ul>
    <li>${sessions.length} live session${sessions.length === 1 ? ' ends' : 's end'}, with ${sessions.length} refresh token${sessions.length === 1 ? '' : 's'}; every access token issued to the account before now is refused (at most ${Math.round(this.accessTokenTtl / 60)} minutes' worth: access tokens live that long).</li>
    <li>${notified.length === 0 ? 'No webhook subscription is notified.' : html`${notified.length} subscription${notified.length === 1 ? ' is' : 's are'} notified (<code>user.locked</code>): ${notified.map((s, i) => html`${i ? ', ' : ''}<span class="wrap">${s.url}</span>`)}`}</li>
    ${when(staff, () => html`<li>Their console sessions end at once.</li>`)}
  </ul>
</div>`;
    const body = html`<section aria-labelledby="profile-h"><h2 id="profile-h">Profile</h2>
<dl class="facts">
  <dt>Email</dt><dd>${user.email}</dd>
  <dt>User id</dt><dd><code>${user.id}</code></dd>
  <dt>Status</dt><dd>${statusBadge(user.status)}</dd>
  <dt>Roles</dt><dd>${user.roles.length ? user.roles.join(', ') : 'none'}</dd>
  <dt>Created</dt><dd>${time(user.createdAt)}</dd>
  <dt>Tokens valid after</dt><dd>${time(user.tokensValidAfter)}</dd>
  ${when(staff, () => html`<dt>Two-step verification</dt><dd>${enrolled ? 'set up' : 'not set up (asked at next sign-in)'}</dd>`)}
</dl></section>

<section aria-labelledby="sessions-h"><h2 id="sessions-h">Live sessions</h2>
${table(`Live sessions of ${user.email}`, ['Client', 'Device', 'IP', 'Created', 'Last seen', 'Action'], sessionRows, 'No live session.')}
</section>

<section aria-labelledby="actions-h"><h2 id="actions-h">Actions</h2>
${
  user.status === 'active'
    ? html`<p><button type="button" class="danger" data-open-dialog="lock-dialog" aria-haspopup="dialog">Lock account…</button></p>
<dialog id="lock-dialog" aria-labelledby="lock-h">
  <h2 id="lock-h">Lock ${user.email}?</h2>
  ${impact}
  ${actionForm({ id: 'lock', action: `/admin/users/${user.id}/lock`, csrf, button: 'Lock account', confirm: `I confirm: lock ${user.email} now`, danger: true })}
  <button type="button" class="secondary" data-close-dialog>Cancel</button>
</dialog>`
    : actionForm({ id: 'unlock', action: `/admin/users/${user.id}/unlock`, csrf, button: 'Unlock account', confirm: `I confirm: unlock ${user.email}` })
}
${actionForm({ id: 'signout', action: `/admin/users/${user.id}/revoke-sessions`, csrf, button: 'Sign out everywhere', confirm: `I confirm: end every session of ${user.email}` })}
${when(
  c.isAdmin,
  () => html`<h3>Roles</h3>${actionForm({
    id: 'roles',
    action: `/admin/users/${user.id}/roles`,
    csrf,
    button: 'Save roles',
    confirm: 'I confirm: change the roles (tokens carrying the old roles are refused)',
    fields: html`<div class="field"><label for="roles-value">Roles (separated by spaces or commas)</label><input id="roles-value" name="roles" value="${user.roles.join(' ')}" spellcheck="false"></div>`,
  })}`,
)}
${when(
  c.isAdmin && staff && enrolled && user.id !== c.user.id,
  () => html`<h3>Two-step verification</h3>${actionForm({ id: 'reset-totp', action: `/admin/users/${user.id}/reset-totp`, csrf, button: 'Reset two-step verification', confirm: `I confirm: ${user.email} sets up a new authenticator at next sign-in`, danger: true })}`,
)}
</section>`;
    await this.view.send(reply, c, { title: user.email, section: 'users' }, body);
  }

  @Post('users/:id/lock')
  @ConsoleForm('Lock a user (303 to the incident view)', 303, UsersErrors.USER_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async lock(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const { c, reason, user } = await this.change(req, id);
    const plan = await this.revocation.lockUser(user.id, consoleContext(c, reason, req));
    await this.done(c, plan ? `Locked ${user.email}: every session ended and every token refused.` : `${user.email} was already locked.`);
    seeOther(reply, incidentOr(plan, `/admin/users/${user.id}`));
  }

  @Post('users/:id/unlock')
  @ConsoleForm('Unlock a user', 303, UsersErrors.USER_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async unlock(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const { c, reason, user } = await this.change(req, id);
    const plan = await this.revocation.unlockUser(user.id, consoleContext(c, reason, req));
    await this.done(c, plan ? `Unlocked ${user.email}: they can sign in again.` : `${user.email} was not locked.`);
    seeOther(reply, incidentOr(plan, `/admin/users/${user.id}`));
  }

  @Post('users/:id/revoke-sessions')
  @ConsoleForm('Sign a user out everywhere', 303, UsersErrors.USER_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async revokeSessions(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const { c, reason, user } = await this.change(req, id);
    const plan = await this.revocation.revokeUserSessions(user.id, consoleContext(c, reason, req));
    await this.done(c, `Signed ${user.email} out everywhere: every session ended and every older token refused.`);
    seeOther(reply, incidentOr(plan, `/admin/users/${user.id}`));
  }

  @Post('users/:id/roles')
  @ConsoleForm('Set a user’s roles (admin)', 303, UsersErrors.USER_NOT_FOUND, UsersErrors.INVALID_ROLE, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  @ConsoleRoles('admin')
  async roles(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const { c, reason, user, form } = await this.change(req, id);
    const roles = [...new Set((form.roles ?? '').split(/[\s,]+/).filter(Boolean))];
    const bad = roles.find((r) => !ROLE_PATTERN.test(r));
    if (bad !== undefined) throw new DomainError(UsersErrors.INVALID_ROLE, `"${bad}" is not a valid role name (lower-case letters, digits, and . _ : -). Nothing was changed.`);
    if (roles.length > 32) throw new DomainError(HttpErrors.VALIDATION_FAILED, 'At most 32 roles. Nothing was changed.');
    const plan = await this.revocation.setRoles(user.id, roles, consoleContext(c, reason, req));
    await this.done(c, `Roles of ${user.email} are now: ${roles.length ? roles.join(', ') : 'none'}.`);
    seeOther(reply, incidentOr(plan, `/admin/users/${user.id}`));
  }

  @Post('users/:id/reset-totp')
  @ConsoleForm('Reset a staff member’s TOTP (admin)', 303, UsersErrors.USER_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  @ConsoleRoles('admin')
  async resetTotp(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const { c, reason, user } = await this.change(req, id);
    if (!isStaff(user.roles)) throw new DomainError(HttpErrors.VALIDATION_FAILED, `${user.email} is not a staff member: only staff use two-step verification. Nothing was changed.`);
    if (user.id === c.user.id) throw new DomainError(HttpErrors.VALIDATION_FAILED, 'Another admin resets your own two-step verification. Nothing was changed.');
    const ctx = consoleContext(c, reason, req);
    // The reset and its audit row commit together.
    const reset = await this.db.transaction(async (tx) => {
      const done = await this.factor.reset(user.id, tx);
      if (done) await this.audit.record({ action: 'staff.totp_reset', targetType: 'user', targetId: user.id }, ctx, tx);
      return done;
    });
    if (!reset) {
      await this.done(c, `${user.email} had no two-step verification to reset.`);
      return seeOther(reply, `/admin/users/${user.id}`);
    }
    // Whoever holds the lost authenticator may hold their sessions too: they end, console sessions included.
    const plan = await this.revocation.revokeUserSessions(user.id, ctx);
    await this.done(c, `Two-step verification of ${user.email} was reset: they set up a new authenticator at their next sign-in.`);
    seeOther(reply, incidentOr(plan, `/admin/users/${user.id}`));
  }

  @Post('sessions/:sid/revoke')
  @ConsoleForm('End one session', 303, TokensErrors.SESSION_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  async revokeSession(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('sid') sid: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    const session = await this.sessionsRepo.find(sid);
    if (!session) throw new DomainError(TokensErrors.SESSION_NOT_FOUND, 'There is no such session.');
    const plan = await this.revocation.revokeSession(sid, consoleContext(c, reason, req), 'session.revoked');
    await this.done(c, plan ? `Ended session ${sid}.` : `Session ${sid} had already ended.`);
    seeOther(reply, incidentOr(plan, `/admin/users/${session.userId}`));
  }

  private async user(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw userNotFound();
    return user;
  }

  private async change(req: FastifyRequest, id: string) {
    const c = callerOf(req);
    const form = formOf(req);
    const reason = confirmed(form);
    return { c, reason, form, user: await this.user(id) };
  }

  private done(c: ConsoleCaller, message: string) {
    return this.view.flash(c, message);
  }
}
