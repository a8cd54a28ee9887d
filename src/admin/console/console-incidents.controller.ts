import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AuditEntry, AuditLog } from '../../audit/audit-log.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { Credential } from '../../infra/http/credential.decorator.js';
import { webhookId } from '../../webhooks/webhook-signing.js';
import { WebhooksService } from '../../webhooks/webhooks.service.js';
import { callerOf, ConsoleRoles } from './console-auth.js';
import { WebhooksErrors } from '../../webhooks/webhooks.errors.js';
import { ConsoleSurface } from './console-error.filter.js';
import { ConsoleDocs, ConsoleForm, ConsolePage } from './console-docs.js';
import { confirmed, formOf, seeOther, sendPage } from './form.js';
import { html, time, when } from '../../infra/http/html.js';
import { table } from './layout.js';
import { deliveriesBox } from './deliveries.view.js';
import { consoleContext, ConsoleView } from './staff-actions.js';
const AUDIT_PAGE = 50;

const auditTarget = (e: AuditEntry) => (e.targetType === 'user' ? html`<a href="/admin/users/${e.targetId}">user ${e.targetId}</a>` : html`${e.targetType} <code>${e.targetId}</code>`);

/** Incident views (a revocation and its deliveries, live), redelivery, and the audit log. */
@ConsoleDocs(true)
@Controller('admin')
@ConsoleSurface()
@Credential('session')
export class ConsoleIncidentsController {
  constructor(
    private readonly audit: AuditLog,
    private readonly webhooks: WebhooksService,
    private readonly view: ConsoleView,
  ) {}

  @Get('incidents/:id')
  @ConsolePage('Incident view: a change and each subscription’s delivery, live', HttpErrors.NOT_FOUND)
  async incident(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const { entry, events, deliveries, attempts } = await this.incidentOf(id);
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
  @ConsolePage('The incident view’s deliveries table (polled by the page)', HttpErrors.NOT_FOUND)
  async incidentDeliveries(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const { entry, deliveries, attempts } = await this.incidentOf(id);
    sendPage(reply, deliveriesBox(entry.id, deliveries, attempts, c.session.data.csrf).value);
  }

  @Post('deliveries/:id/redeliver')
  @ConsoleForm('Redeliver a failed delivery', 303, WebhooksErrors.DELIVERY_NOT_FOUND, WebhooksErrors.DELIVERY_IN_PROGRESS, WebhooksErrors.WEBHOOK_DISABLED)
  @ConsoleRoles('admin', 'security')
  async redeliver(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    const d = await this.webhooks.redeliver(id, consoleContext(c, reason, req));
    await this.view.flash(c, `Delivery to ${d.url} was queued again.`);
    seeOther(reply, d.auditId ? `/admin/incidents/${d.auditId}` : `/admin/webhooks/${d.subscriptionId}`);
  }

  @Get('audit')
  @ConsolePage('Audit log: filter by actor, target, action and time; newest first')
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
    const withEvents = await this.webhooks.auditIdsWithEvents(found.items.map((e) => e.id));
    const rows = found.items.map(
      (e) => html`<tr>
  <td>${time(e.at)}</td>
  <td>${e.actorType}${e.actorId ? html`<br><code>${e.actorId}</code>` : ''}</td>
  <td><code>${e.action}</code></td>
  <td class="wrap">${auditTarget(e)}</td>
  <td class="wrap">${e.reason ?? ''}</td>
  <td>${withEvents.has(e.id) ? html`<a href="/admin/incidents/${e.id}" aria-label="Incident view of entry ${e.id}">View</a>` : html`<span class="muted">none</span>`}</td>
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

  /** An audit entry and the webhook deliveries of what it emitted (404 for an unknown entry). */
  private async incidentOf(id: string) {
    const entry = await this.audit.get(id);
    if (!entry) throw new DomainError(HttpErrors.NOT_FOUND, 'There is no such audit entry.');
    return { entry, ...(await this.webhooks.forRevocation(entry.id)) };
  }
}
