import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AuditEntry, AuditLog } from '../../audit/audit-log.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { Credential } from '../../infra/http/credential.decorator.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { ClientsService } from '../../tokens/clients/clients.service.js';
import { KeyService } from '../../tokens/keys/key.service.js';
import type { Attempt, Delivery } from '../../webhooks/delivery.js';
import { EVENT_TYPES } from '../../webhooks/webhook-events.js';
import { webhookId } from '../../webhooks/webhook-signing.js';
import { WebhooksService } from '../../webhooks/webhooks.service.js';
import { callerOf, ConsoleRoles } from './console-auth.js';
import { ConsoleSurface } from './console-error.filter.js';
import { confirmed, formOf, seeOther, sendPage } from './form.js';
import { html, type SafeHtml, time, when } from './html.js';
import { actionForm, table } from './layout.js';
import { consoleContext, ConsoleView, incidentOr } from './staff-actions.js';

const AUDIT_PAGE = 50;
const PANIC_PHRASE = 'REVOKE EVERYTHING';

const stateOf = (d: Delivery) => html`<span class="state state-${d.status}">${d.status}</span>`;

/** One delivery as the incident view and the webhook page show it: state, answer, latency, next attempt. */
function deliveryRow(d: Delivery, attempts: Attempt[], csrf: string): SafeHtml {
  const last = attempts[attempts.length - 1];
  const latency = d.deliveredAt ? d.deliveredAt.getTime() - d.createdAt.getTime() : null;
  const detail =
    d.status === 'delivered'
      ? html`HTTP ${d.lastStatus ?? ''} at ${time(d.deliveredAt)}${latency !== null ? html`, ${latency} ms after the event` : ''}`
      : d.status === 'retrying'
        ? html`attempt ${d.attempts} failed (${d.lastStatus ? `HTTP ${d.lastStatus}` : (d.lastError ?? 'no answer')}); next attempt at ${time(d.nextAttemptAt)}`
        : d.status === 'failed'
          ? html`gave up after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'} (${d.lastStatus ? `HTTP ${d.lastStatus}` : (d.lastError ?? 'no answer')})`
          : html`waiting for its first attempt`;
  return html`<tr>
  <td class="wrap">${d.url}</td>
  <td><code>${d.eventType}</code></td>
  <td>${stateOf(d)}</td>
  <td>${detail}${when(last, () => html`<br><span class="muted">${attempts.length} attempt${attempts.length === 1 ? '' : 's'}, last ${last!.durationMs} ms</span>`)}</td>
  <td>${when(
    d.status === 'failed',
    () => html`<form method="post" action="/admin/deliveries/${d.id}/redeliver"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="confirm" value="yes"><input type="hidden" name="reason" value="manual redelivery from the console"><button type="submit" aria-label="Redeliver to ${d.url}">Redeliver</button></form>`,
  )}</td>
</tr>`;
}

/** The deliveries' table of an incident: the part that the page's script reloads every second until every delivery has settled. */
function deliveriesBox(auditId: string, deliveries: Delivery[], attempts: Attempt[], csrf: string): SafeHtml {
  const settled = deliveries.every((d) => d.status === 'delivered' || d.status === 'failed');
  const rows = deliveries.map((d) =>
    deliveryRow(
      d,
      attempts.filter((a) => a.deliveryId === d.id),
      csrf,
    ),
  );
  return html`<div id="deliveries" data-poll="/admin/incidents/${auditId}/deliveries" data-settled="${settled ? 'true' : 'false'}" aria-live="polite">
${table('Webhook deliveries', ['Subscription', 'Event', 'State', 'Detail', 'Action'], rows, 'No webhook subscription was notified of this change.')}
<p class="muted">${settled ? 'Every delivery has settled.' : 'Updated every second.'}</p>
</div>`;
}

const auditTarget = (e: AuditEntry) => (e.targetType === 'user' ? html`<a href="/admin/users/${e.targetId}">user ${e.targetId}</a>` : html`${e.targetType} <code>${e.targetId}</code>`);

/** Incidents, the audit log, webhooks, signing keys, clients and the panic button. */
@ApiExcludeController()
@Controller('admin')
@ConsoleSurface()
@Credential('session')
export class ConsoleOpsController {
  constructor(
    private readonly audit: AuditLog,
    private readonly webhooks: WebhooksService,
    private readonly revocation: RevocationService,
    private readonly keys: KeyService,
    private readonly clients: ClientsService,
    private readonly view: ConsoleView,
  ) {}

  @Get('incidents/:id')
  async incident(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const entry = await this.audit.get(id);
    if (!entry) throw new DomainError(HttpErrors.NOT_FOUND, 'There is no such audit entry.');
    const { events, deliveries, attempts } = await this.webhooks.forRevocation(entry.id);
    const body = html`<section aria-labelledby="what-h"><h2 id="what-h">The change</h2>
<dl class="facts">
  <dt>Action</dt><dd><code>${entry.action}</code></dd>
  <dt>Target</dt><dd>${auditTarget(entry)}</dd>
  <dt>Reason</dt><dd class="wrap" id="incident-reason">${entry.reason ?? ''}</dd>
  <dt>By</dt><dd>${entry.actorType} ${entry.actorId ?? ''}</dd>
  <dt>At</dt><dd>${time(entry.at)}</dd>
  <dt>Events</dt><dd>${events.length ? events.map((e, i) => html`${i ? ', ' : ''}<code>${e.type}</code> (<code>${webhookId(e.id)}</code>)`) : 'none'}</dd>
</dl></section>
<section aria-labelledby="deliveries-h"><h2 id="deliveries-h">Subscribing services</h2>
${deliveriesBox(entry.id, deliveries, attempts, c.session.data.csrf)}
</section>`;
    await this.view.send(reply, c, { title: `Incident ${entry.id}` }, body);
  }

  /** The live part of the incident view, fetched by the page's script. */
  @Get('incidents/:id/deliveries')
  async incidentDeliveries(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const entry = await this.audit.get(id);
    if (!entry) throw new DomainError(HttpErrors.NOT_FOUND, 'There is no such audit entry.');
    const { deliveries, attempts } = await this.webhooks.forRevocation(entry.id);
    sendPage(reply, deliveriesBox(entry.id, deliveries, attempts, c.session.data.csrf).value);
  }

  @Post('deliveries/:id/redeliver')
  @ConsoleRoles('admin', 'security')
  async redeliver(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    const d = await this.webhooks.redeliver(id, consoleContext(c, reason, req));
    await this.view.flash(c, `Delivery to ${d.url} was queued again.`);
    seeOther(reply, d.auditId ? `/admin/incidents/${d.auditId}` : `/admin/webhooks/${d.subscriptionId}`);
  }

  @Get('audit')
  async auditLog(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Query() q: Record<string, unknown>) {
    const c = callerOf(req);
    const str = (k: string, max: number) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, max) : '');
    const actor = str('actor', 200);
    const target = str('target', 200);
    const action = str('action', 100);
    const from = str('from', 40);
    const until = str('until', 40);
    const cursor = /^\d{1,18}$/.test(str('cursor', 20)) ? str('cursor', 20) : undefined;
    const dateOf = (v: string, field: string) => {
      if (!v) return undefined;
      const d = new Date(/Z$|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
      if (Number.isNaN(d.getTime())) throw new DomainError(HttpErrors.VALIDATION_FAILED, `${field} is not a date and time (such as 2026-12-06T09:00).`);
      return d;
    };
    const filter = { actor: actor || undefined, target: target || undefined, action: action || undefined, from: dateOf(from, 'From'), until: dateOf(until, 'Until'), cursor, limit: AUDIT_PAGE };
    const found = await this.audit.list(filter);
    const rows = found.items.map(
      (e) => html`<tr>
  <td>${time(e.at)}</td>
  <td>${e.actorType}${e.actorId ? html`<br><code>${e.actorId}</code>` : ''}</td>
  <td><code>${e.action}</code></td>
  <td class="wrap">${auditTarget(e)}</td>
  <td class="wrap">${e.reason ?? ''}</td>
  <td><a href="/admin/incidents/${e.id}" aria-label="Incident view of entry ${e.id}">View</a></td>
</tr>`,
    );
    const params = (extra: Record<string, string>) => new URLSearchParams(Object.entries({ actor, target, action, from, until, ...extra }).filter(([, v]) => v)).toString();
    const body = html`<form method="get" action="/admin/audit" class="filters" role="search" aria-label="Filter the audit log">
  <div class="field"><label for="f-actor">Actor id</label><input id="f-actor" name="actor" value="${actor}"></div>
  <div class="field"><label for="f-target">Target id</label><input id="f-target" name="target" value="${target}"></div>
  <div class="field"><label for="f-action">Action</label><input id="f-action" name="action" value="${action}" placeholder="user.locked"></div>
  <div class="field"><label for="f-from">From (UTC)</label><input id="f-from" name="from" type="datetime-local" value="${from}"></div>
  <div class="field"><label for="f-until">Until (UTC)</label><input id="f-until" name="until" type="datetime-local" value="${until}"></div>
  <button type="submit">Filter</button>
</form>
${table('Audit log, newest first', ['At', 'Actor', 'Action', 'Target', 'Reason', 'Incident'], rows, 'No entry matches.')}
<nav class="pager" aria-label="Pages">
  ${when(cursor, () => html`<a href="/admin/audit?${params({})}">Newest</a>`)}
  ${when(found.nextCursor, () => html`<a href="/admin/audit?${params({ cursor: found.nextCursor! })}">Older entries</a>`)}
</nav>`;
    await this.view.send(reply, c, { title: 'Audit log', section: 'audit' }, body);
  }

  @Get('webhooks')
  @ConsoleRoles('admin')
  async webhookList(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    await this.view.send(reply, c, { title: 'Webhooks', section: 'webhooks' }, await this.webhooksBody(c.session.data.csrf));
  }

  @Post('webhooks')
  @ConsoleRoles('admin')
  async webhookCreate(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const form = formOf(req);
    const reason = confirmed(form);
    const chosen = (req.body as Record<string, unknown>).event_types;
    const types = (Array.isArray(chosen) ? chosen : [chosen]).filter((t): t is string => typeof t === 'string' && (EVENT_TYPES as readonly string[]).includes(t));
    const { subscription, secret } = await this.webhooks.create(
      { url: (form.url ?? '').trim(), description: (form.description ?? '').trim().slice(0, 500), eventTypes: types.length ? types : null, enabled: true },
      consoleContext(c, reason, req),
    );
    const body = html`<p class="flash" role="status">Subscription created for <span class="wrap">${subscription.url}</span>.</p>
<h2>Signing secret</h2>
<p>The receiving service verifies every request with this secret (Standard Webhooks). It is shown only now.</p>
<p><code class="secret" id="webhook-secret">${secret}</code></p>
<p><button type="button" class="secondary" data-copy="webhook-secret">Copy secret</button></p>
<p><a href="/admin/webhooks/${subscription.id}">Open the subscription</a> · <a href="/admin/webhooks">All subscriptions</a></p>`;
    await this.view.send(reply, c, { title: 'Subscription created', section: 'webhooks' }, body, 201);
  }

  @Get('webhooks/:id')
  @ConsoleRoles('admin')
  async webhook(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const s = await this.webhooks.get(id);
    const csrf = c.session.data.csrf;
    const { items } = await this.webhooks.deliveriesOf(s.id, { limit: 50 });
    const withAttempts = await Promise.all(items.map((d) => this.webhooks.delivery(d.id)));
    const rows = withAttempts.map(({ delivery, attempts }) => deliveryRow(delivery, attempts, csrf));
    const attemptRows = withAttempts.flatMap(({ delivery, attempts }) =>
      attempts.map(
        (a) => html`<tr><td><code>${webhookId(delivery.eventId)}</code></td><td>${a.number}${a.manual ? ' (manual)' : ''}</td><td>${time(a.at)}</td><td>${a.status ?? '—'}</td><td>${a.durationMs} ms</td><td class="wrap">${a.error ?? ''}</td><td class="wrap"><code>${a.responseExcerpt.slice(0, 200)}</code></td></tr>`,
      ),
    );
    const body = html`<dl class="facts">
  <dt>URL</dt><dd>${s.url}</dd>
  <dt>Description</dt><dd>${s.description || '—'}</dd>
  <dt>Events</dt><dd>${s.eventTypes ? s.eventTypes.join(', ') : 'all'}</dd>
  <dt>State</dt><dd>${s.enabled ? 'enabled' : `disabled${s.disabledReason ? ` (${s.disabledReason})` : ''}`}</dd>
  <dt>Failing since</dt><dd>${time(s.failingSince)}</dd>
  <dt>Created</dt><dd>${time(s.createdAt)}</dd>
</dl>
<h2>Actions</h2>
<div class="grid">
${actionForm({ id: 'test', action: `/admin/webhooks/${s.id}/test`, csrf, button: 'Send a test event', confirm: 'I confirm: send webhook.test' })}
${actionForm({ id: 'rotate', action: `/admin/webhooks/${s.id}/rotate-secret`, csrf, button: 'Rotate secret', confirm: 'I confirm: a new secret (the old one keeps signing for the grace period)' })}
${
  s.enabled
    ? actionForm({ id: 'disable', action: `/admin/webhooks/${s.id}/disable`, csrf, button: 'Disable', confirm: 'I confirm: stop sending events to this URL', danger: true })
    : actionForm({ id: 'enable', action: `/admin/webhooks/${s.id}/enable`, csrf, button: 'Enable', confirm: 'I confirm: send events to this URL again' })
}
</div>
<h2>Deliveries</h2>
${table('Latest deliveries', ['Subscription', 'Event', 'State', 'Detail', 'Action'], rows, 'No delivery yet.')}
<h2>Attempts</h2>
${table('Attempts of the latest deliveries', ['Message', 'Attempt', 'At', 'HTTP status', 'Duration', 'Error', 'Answer (start)'], attemptRows, 'No attempt yet.')}`;
    await this.view.send(reply, c, { title: `Webhook ${s.url}`, section: 'webhooks' }, body);
  }

  @Post('webhooks/:id/test')
  @ConsoleRoles('admin')
  async webhookTest(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    await this.webhooks.sendTest(id, consoleContext(c, reason, req));
    await this.view.flash(c, 'A webhook.test event was queued; its delivery shows below.');
    seeOther(reply, `/admin/webhooks/${id}`);
  }

  @Post('webhooks/:id/rotate-secret')
  @ConsoleRoles('admin')
  async webhookRotate(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    const { subscription, secret } = await this.webhooks.rotateSecret(id, consoleContext(c, reason, req));
    const body = html`<p class="flash" role="status">The secret was rotated. The old one keeps signing beside it until ${time(subscription.previousSecretUntil)}.</p>
<p>New secret, shown only now:</p>
<p><code class="secret" id="webhook-secret">${secret}</code></p>
<p><button type="button" class="secondary" data-copy="webhook-secret">Copy secret</button></p>
<p><a href="/admin/webhooks/${subscription.id}">Back to the subscription</a></p>`;
    await this.view.send(reply, c, { title: 'Secret rotated', section: 'webhooks' }, body);
  }

  @Post('webhooks/:id/enable')
  @ConsoleRoles('admin')
  async webhookEnable(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    return this.setEnabled(req, reply, id, true);
  }

  @Post('webhooks/:id/disable')
  @ConsoleRoles('admin')
  async webhookDisable(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    return this.setEnabled(req, reply, id, false);
  }

  @Get('keys')
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
  @ConsoleRoles('admin')
  async keyRevoke(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('kid') kid: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req), kid);
    const plan = await this.revocation.revokeSigningKey(kid, consoleContext(c, reason, req));
    await this.view.flash(c, `Key ${kid} is revoked: every token it signed is refused. Key ${this.keys.signingKey().kid} signs now.`);
    seeOther(reply, incidentOr(plan, '/admin/keys'));
  }

  @Get('clients')
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
  @ConsoleRoles('admin')
  async clientRevoke(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') clientId: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    const plan = await this.revocation.revokeClient(clientId, consoleContext(c, reason, req));
    await this.view.flash(c, `Client ${clientId} is revoked: it can no longer authenticate, and every token issued to it is refused.`);
    seeOther(reply, incidentOr(plan, '/admin/clients'));
  }

  @Get('panic')
  @ConsoleRoles('admin')
  async panicPage(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const body = html`<p class="impact">The panic button refuses <strong>every token issued before now</strong>, for every user and every client, on every instance, and ends every session. Everyone signs in again. Use it when a signing key or the whole service may be compromised.</p>
${actionForm({ id: 'panic', action: '/admin/panic', csrf: c.session.data.csrf, button: 'Revoke everything now', confirm: 'I confirm: every user and every client signs in again', danger: true, typed: PANIC_PHRASE })}`;
    await this.view.send(reply, c, { title: 'Panic button', section: 'panic' }, body);
  }

  @Post('panic')
  @ConsoleRoles('admin')
  async panic(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req), PANIC_PHRASE);
    const plan = await this.revocation.revokeAll(consoleContext(c, reason, req));
    await this.view.flash(c, 'Every token issued before now is refused, and every session has ended.');
    seeOther(reply, incidentOr(plan, '/admin/panic'));
  }

  private async setEnabled(req: FastifyRequest, reply: FastifyReply, id: string, enabled: boolean) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    await this.webhooks.update(id, { enabled }, consoleContext(c, reason, req));
    await this.view.flash(c, enabled ? 'The subscription is enabled.' : 'The subscription is disabled: no event is sent to it.');
    seeOther(reply, `/admin/webhooks/${id}`);
  }

  private async webhooksBody(csrf: string): Promise<SafeHtml> {
    const subs = await this.webhooks.list();
    const rows = subs.map(
      (s) => html`<tr><td class="wrap"><a href="/admin/webhooks/${s.id}">${s.url}</a></td><td>${s.description}</td><td>${s.eventTypes ? s.eventTypes.join(', ') : 'all'}</td><td><span class="state state-${s.enabled ? (s.failingSince ? 'retrying' : 'active') : 'failed'}">${s.enabled ? (s.failingSince ? 'failing' : 'enabled') : 'disabled'}</span></td><td>${time(s.createdAt)}</td></tr>`,
    );
    return html`${table('Subscriptions', ['URL', 'Description', 'Events', 'State', 'Created'], rows, 'No subscription yet.')}
<h2>New subscription</h2>
${actionForm({
  id: 'create',
  action: '/admin/webhooks',
  csrf,
  button: 'Create subscription',
  confirm: 'I confirm: send revocation events to this URL',
  fields: html`<div class="field"><label for="wh-url">URL</label><input id="wh-url" name="url" type="url" required maxlength="2048" placeholder="https://service.example/latchkey-events"></div>
<div class="field"><label for="wh-desc">Description</label><input id="wh-desc" name="description" maxlength="500"></div>
<fieldset class="field"><legend>Events (none ticked: all)</legend>
${EVENT_TYPES.map((t) => html`<div class="check"><input type="checkbox" id="ev-${t}" name="event_types" value="${t}"><label for="ev-${t}"><code>${t}</code></label></div>`)}
</fieldset>`,
})}`;
  }
}

