import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditLog } from '../../audit/audit-log.js';
import { Credential } from '../../infra/http/credential.decorator.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { ClientsService } from '../../tokens/clients/clients.service.js';
import { KeyService } from '../../tokens/keys/key.service.js';
import { callerOf, ConsoleRoles } from './console-auth.js';
import { TokensErrors } from '../../tokens/tokens.errors.js';
import { RevocationErrors } from '../../revocation/revocation.errors.js';
import { ConsoleSurface } from './console-error.filter.js';
import { ConsoleSessions } from './console-sessions.js';
import { ConsoleDocs, ConsoleForm, ConsolePage } from './console-docs.js';
import { confirmed, formOf, seeOther } from './form.js';
import { html, time, when } from '../../infra/http/html.js';
import { actionForm, table } from './layout.js';
import { consoleContext, ConsoleView, incidentOr } from './staff-actions.js';
const PANIC_PHRASE = 'REVOKE EVERYTHING';

/** Signing keys, client apps and the panic button (admin). */
@ConsoleDocs(true)
@Controller('admin')
@ConsoleSurface()
@Credential('session')
export class ConsoleOpsController {
  constructor(
    private readonly audit: AuditLog,
    private readonly revocation: RevocationService,
    private readonly keys: KeyService,
    private readonly clients: ClientsService,
    private readonly view: ConsoleView,
    private readonly sessions: ConsoleSessions,
  ) {}

  @Get('keys')
  @ConsolePage('Signing keys (admin)')
  @ConsoleRoles('admin')
  async keyList(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const csrf = c.session.data.csrf;
    const keys = await this.keys.list();
    const rows = keys.map(
      (k) => html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td><span class="state state-${k.status === 'revoked' ? 'failed' : 'active'}">${k.status}</span></td><td>${time(k.createdAt)}</td>
  <td>${when(k.status !== 'revoked', () => actionForm({ id: `revoke-${k.kid}`, action: `/admin/keys/${encodeURIComponent(k.kid)}/revoke`, csrf, button: `Revoke ${k.kid}`, confirm: 'I confirm: every token this key signed is refused', danger: true, typed: k.kid }))}</td></tr>`,
    );
    const body = html`${actionForm({ id: 'rotate-key', action: '/admin/keys/rotate', csrf, button: 'Rotate the signing key', confirm: 'I confirm: a new key signs from now on (the old one keeps verifying)' })}
${table('Signing keys', ['Key id', 'Algorithm', 'Status', 'Created', 'Revoke'], rows)}`;
    await this.view.send(reply, c, { title: 'Signing keys', section: 'keys' }, body);
  }

  @Post('keys/rotate')
  @ConsoleForm('Rotate the signing key (admin)', 303)
  @ConsoleRoles('admin')
  async keyRotate(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const ctx = consoleContext(c, confirmed(formOf(req)), req);
    const kid = await this.keys.rotate(async (tx, newKid) => {
      await this.audit.record({ action: 'signing_key.rotated', targetType: 'signing_key', targetId: newKid }, ctx, tx);
    });
    await this.view.flash(c, `Key ${kid} signs from now on.`);
    seeOther(reply, '/admin/keys');
  }

  @Post('keys/:kid/revoke')
  @ConsoleForm('Revoke a signing key, typed confirmation (admin)', 303, TokensErrors.SIGNING_KEY_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  @ConsoleRoles('admin')
  async keyRevoke(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('kid') kid: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req), kid);
    const plan = await this.revocation.revokeSigningKey(kid, consoleContext(c, reason, req));
    await this.view.flash(c, `Key ${kid} is revoked: every token it signed is refused. Key ${this.keys.signingKey().kid} signs now.`);
    seeOther(reply, incidentOr(plan, '/admin/keys'));
  }

  @Get('clients')
  @ConsolePage('Client apps (admin)')
  @ConsoleRoles('admin')
  async clientList(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const csrf = c.session.data.csrf;
    const rows = (await this.clients.list()).map(
      (k) => html`<tr><td>${k.name}</td><td><code>${k.clientId}</code></td><td>${k.type}</td><td>${k.grantTypes.join(', ')}</td><td><span class="state state-${k.status === 'revoked' ? 'failed' : 'active'}">${k.status}</span></td>
  <td>${when(k.status !== 'revoked', () => actionForm({ id: `revoke-${k.clientId}`, action: `/admin/clients/${encodeURIComponent(k.clientId)}/revoke`, csrf, button: `Revoke ${k.name}`, confirm: 'I confirm: the client can no longer authenticate and its tokens are refused', danger: true }))}</td></tr>`,
    );
    await this.view.send(reply, c, { title: 'Clients', section: 'clients' }, table('Client apps', ['Name', 'Client id', 'Type', 'Grants', 'Status', 'Revoke'], rows, 'No client app yet.'));
  }

  @Post('clients/:id/revoke')
  @ConsoleForm('Revoke a client app (admin)', 303, TokensErrors.CLIENT_NOT_FOUND, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  @ConsoleRoles('admin')
  async clientRevoke(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') clientId: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    const plan = await this.revocation.revokeClient(clientId, consoleContext(c, reason, req));
    await this.view.flash(c, `Client ${clientId} is revoked: it can no longer authenticate, and every token issued to it is refused.`);
    seeOther(reply, incidentOr(plan, '/admin/clients'));
  }

  @Get('panic')
  @ConsolePage('The panic button (admin)')
  @ConsoleRoles('admin')
  async panicPage(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const body = html`<p class="impact">The panic button refuses <strong>every token issued before now</strong>, for every user and every client, on every instance, and ends every session, staff console sessions included (yours goes on under a new id). Everyone signs in again. Use it when a signing key or the whole service may be compromised.</p>
${actionForm({ id: 'panic', action: '/admin/panic', csrf: c.session.data.csrf, button: 'Revoke everything now', confirm: 'I confirm: every user and every client signs in again', danger: true, typed: PANIC_PHRASE })}`;
    await this.view.send(reply, c, { title: 'Panic button', section: 'panic' }, body);
  }

  @Post('panic')
  @ConsoleForm('Revoke everything, typed confirmation (admin)', 303, RevocationErrors.REVOCATION_NOT_PROPAGATED)
  @ConsoleRoles('admin')
  async panic(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req), PANIC_PHRASE);
    const plan = await this.revocation.revokeAll(consoleContext(c, reason, req));
    // Every console session ended with the rest (their staff sign in again); the one who pressed the button keeps working, under a new session id.
    await this.sessions.issue(reply, { userId: c.user.id, stage: 'in', flash: 'Every token issued before now is refused, and every session has ended, console sessions included.' }, c.session);
    seeOther(reply, incidentOr(plan, '/admin/panic'));
  }
}
