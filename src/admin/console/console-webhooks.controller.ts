import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Credential } from '../../infra/http/credential.decorator.js';
import { EVENT_TYPES } from '../../webhooks/webhook-events.js';
import { webhookId } from '../../webhooks/webhook-signing.js';
import { WebhooksService } from '../../webhooks/webhooks.service.js';
import { callerOf, ConsoleRoles } from './console-auth.js';
import { WebhooksErrors } from '../../webhooks/webhooks.errors.js';
import { ConsoleSurface } from './console-error.filter.js';
import { ConsoleDocs, ConsoleForm, ConsolePage } from './console-docs.js';
import { confirmed, formOf, seeOther } from './form.js';
import { html, type SafeHtml, time } from '../../infra/http/html.js';
import { actionForm, table } from './layout.js';
import { deliveryRow } from './deliveries.view.js';
import { consoleContext, ConsoleView } from './staff-actions.js';

/** Webhook subscriptions (admin): create, rotate the secret, enable or disable, send a test, deliveries with their attempts. */
@ConsoleDocs(true)
@Controller('admin')
@ConsoleSurface()
@Credential('session')
export class ConsoleWebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly view: ConsoleView,
  ) {}

  @Get('webhooks')
  @ConsolePage('Webhook subscriptions (admin)')
  @ConsoleRoles('admin')
  async webhookList(@Req() req: FastifyRequest, @Res() reply: FastifyReply) {
    const c = callerOf(req);
    await this.view.send(reply, c, { title: 'Webhooks', section: 'webhooks' }, await this.webhooksBody(c.session.data.csrf));
  }

  @Post('webhooks')
  @ConsoleForm('Create a subscription; shows its secret once (admin)', 201, WebhooksErrors.INVALID_WEBHOOK_URL)
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
  @ConsolePage('A subscription: deliveries and attempts (admin)', WebhooksErrors.WEBHOOK_NOT_FOUND)
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
  @ConsoleForm('Send webhook.test (admin)', 303, WebhooksErrors.WEBHOOK_NOT_FOUND, WebhooksErrors.WEBHOOK_DISABLED)
  @ConsoleRoles('admin')
  async webhookTest(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    const c = callerOf(req);
    const reason = confirmed(formOf(req));
    await this.webhooks.sendTest(id, consoleContext(c, reason, req));
    await this.view.flash(c, 'A webhook.test event was queued; its delivery shows below.');
    seeOther(reply, `/admin/webhooks/${id}`);
  }

  @Post('webhooks/:id/rotate-secret')
  @ConsoleForm('Rotate the signing secret; shows it once (admin)', 200, WebhooksErrors.WEBHOOK_NOT_FOUND)
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
  @ConsoleForm('Enable a subscription (admin)', 303, WebhooksErrors.WEBHOOK_NOT_FOUND)
  @ConsoleRoles('admin')
  async webhookEnable(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    return this.setEnabled(req, reply, id, true);
  }

  @Post('webhooks/:id/disable')
  @ConsoleForm('Disable a subscription (admin)', 303, WebhooksErrors.WEBHOOK_NOT_FOUND)
  @ConsoleRoles('admin')
  async webhookDisable(@Req() req: FastifyRequest, @Res() reply: FastifyReply, @Param('id') id: string) {
    return this.setEnabled(req, reply, id, false);
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
