import { Body, Delete, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { ZodValidationPipe } from '../infra/errors/zod-validation.pipe.js';
import { ApiErrors, DATE_TIME, ZodBody, ZodQuery } from '../infra/http/openapi.js';
import { deliveryJson } from '../webhooks/delivery.js';
import { subscriptionJson } from '../webhooks/subscription.js';
import { webhookId } from '../webhooks/webhook-signing.js';
import { WebhooksErrors } from '../webhooks/webhooks.errors.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { createWebhook, deliveriesQuery, eventTypesOf, redeliverFailed, updateWebhook, withReason } from './admin.schemas.js';
import { Staff, staffContext } from './staff.guard.js';
import { AdminApi, CHANGE_ERRORS, STAFF_ERRORS, staffRoles as roles } from './admin-api.js';

const nullable = (schema: object) => ({ ...schema, nullable: true });
const STRING = { type: 'string' };

const SUBSCRIPTION = {
  type: 'object',
  required: ['id', 'url', 'description', 'event_types', 'enabled', 'disabled_reason', 'failing_since', 'previous_secret_until', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    url: STRING,
    description: STRING,
    event_types: { type: 'array', items: STRING, description: '["*"]: every event type.' },
    enabled: { type: 'boolean' },
    disabled_reason: nullable({ ...STRING, description: 'Why Latchkey disabled it (410 Gone, failing too long); null when enabled or turned off by staff.' }),
    failing_since: nullable(DATE_TIME),
    previous_secret_until: nullable({ ...DATE_TIME, description: 'Until when the rotated-out secret still signs beside the current one.' }),
    created_at: DATE_TIME,
    updated_at: DATE_TIME,
  },
};

const WITH_SECRET = {
  type: 'object',
  required: ['subscription', 'secret'],
  properties: { subscription: SUBSCRIPTION, secret: { type: 'string', description: 'The signing secret (whsec_...), shown only this once.' } },
};

const ATTEMPT = {
  type: 'object',
  required: ['number', 'at', 'status', 'duration_ms', 'error', 'response_excerpt', 'manual'],
  properties: {
    number: { type: 'integer' },
    at: DATE_TIME,
    status: nullable({ type: 'integer', description: "The receiver's HTTP status; null when no answer came." }),
    duration_ms: { type: 'integer' },
    error: nullable(STRING),
    response_excerpt: { type: 'string', description: "The first 1 KB of the receiver's answer." },
    manual: { type: 'boolean', description: 'A manual redelivery.' },
  },
};

const DELIVERY = {
  type: 'object',
  required: ['id', 'webhook_id', 'event_id', 'event_type', 'audit_id', 'subscription_id', 'url', 'status', 'attempts', 'next_attempt_at', 'last_status', 'last_error', 'delivered_at', 'latency_ms', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    webhook_id: { type: 'string', description: 'The `webhook-id` header: the same on every attempt.' },
    event_id: { type: 'string', format: 'uuid' },
    event_type: STRING,
    audit_id: nullable({ ...STRING, description: 'The audit row of the revocation that emitted the event.' }),
    subscription_id: { type: 'string', format: 'uuid' },
    url: STRING,
    status: { type: 'string', enum: ['pending', 'delivered', 'retrying', 'failed'] },
    attempts: { type: 'integer' },
    next_attempt_at: nullable(DATE_TIME),
    last_status: nullable({ type: 'integer' }),
    last_error: nullable(STRING),
    delivered_at: nullable(DATE_TIME),
    latency_ms: nullable({ type: 'integer', description: 'From the event to the 2xx that delivered it.' }),
    created_at: DATE_TIME,
    updated_at: DATE_TIME,
    attempt_log: { type: 'array', items: ATTEMPT },
  },
};

const NOT_FOUND = [...STAFF_ERRORS, WebhooksErrors.WEBHOOK_NOT_FOUND];
const CHANGE = [...CHANGE_ERRORS, WebhooksErrors.WEBHOOK_NOT_FOUND];
const ADMIN = roles('admin');

/** Webhook subscriptions, their deliveries and redelivery (admin); a revocation's deliveries (staff). */
@AdminApi()
export class AdminWebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get('webhooks')
  @Staff('admin')
  @ApiOperation({ summary: 'List webhook subscriptions', description: ADMIN })
  @ApiOkResponse({ description: 'Every subscription (never a secret).', schema: { type: 'object', required: ['webhooks'], properties: { webhooks: { type: 'array', items: SUBSCRIPTION } } } })
  @ApiErrors(...STAFF_ERRORS)
  async list() {
    return { webhooks: (await this.webhooks.list()).map(subscriptionJson) };
  }

  @Post('webhooks')
  @Staff('admin')
  @ApiOperation({ summary: 'Create a webhook subscription', description: `Latchkey generates the signing secret and returns it this once. ${ADMIN}` })
  @ZodBody(createWebhook)
  @ApiCreatedResponse({ description: 'Created, with its secret.', schema: WITH_SECRET })
  @ApiErrors(...CHANGE_ERRORS, WebhooksErrors.INVALID_WEBHOOK_URL)
  async create(@CurrentPrincipal() p: Principal, @Body(new ZodValidationPipe(createWebhook)) body: z.infer<typeof createWebhook>, @Req() req: FastifyRequest) {
    const { subscription, secret } = await this.webhooks.create(
      { url: body.url, description: body.description, eventTypes: eventTypesOf(body.event_types) ?? null, enabled: body.enabled },
      staffContext(p, body.reason, req),
    );
    return { subscription: subscriptionJson(subscription), secret };
  }

  @Get('webhooks/:id')
  @Staff('admin')
  @ApiOperation({ summary: 'One webhook subscription', description: ADMIN })
  @ApiOkResponse({ description: 'The subscription.', schema: { type: 'object', required: ['subscription'], properties: { subscription: SUBSCRIPTION } } })
  @ApiErrors(...NOT_FOUND)
  async get(@Param('id') id: string) {
    return { subscription: subscriptionJson(await this.webhooks.get(id)) };
  }

  @Patch('webhooks/:id')
  @Staff('admin')
  @ApiOperation({ summary: 'Change a webhook subscription', description: `URL, description, event types, enabled. Enabling it again clears its failure streak. ${ADMIN}` })
  @ZodBody(updateWebhook)
  @ApiOkResponse({ description: 'The subscription as it is now.', schema: { type: 'object', required: ['subscription'], properties: { subscription: SUBSCRIPTION } } })
  @ApiErrors(...CHANGE, WebhooksErrors.INVALID_WEBHOOK_URL)
  async update(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(updateWebhook)) body: z.infer<typeof updateWebhook>, @Req() req: FastifyRequest) {
    const patch = { url: body.url, description: body.description, eventTypes: eventTypesOf(body.event_types), enabled: body.enabled };
    return { subscription: subscriptionJson(await this.webhooks.update(id, patch, staffContext(p, body.reason, req))) };
  }

  @Delete('webhooks/:id')
  @Staff('admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete a webhook subscription', description: `With its deliveries and their log. ${ADMIN}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Deleted.', schema: { type: 'object', required: ['done'], properties: { done: { type: 'boolean', enum: [true] } } } })
  @ApiErrors(...CHANGE)
  async delete(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    await this.webhooks.delete(id, staffContext(p, body.reason, req));
    return { done: true };
  }

  @Post('webhooks/:id/rotate-secret')
  @Staff('admin')
  @HttpCode(200)
  @ApiOperation({ summary: "Rotate a subscription's signing secret", description: `The new secret is returned this once; the old one keeps signing beside it for WEBHOOK_SECRET_GRACE. ${ADMIN}` })
  @ZodBody(withReason)
  @ApiOkResponse({ description: 'Rotated, with the new secret.', schema: WITH_SECRET })
  @ApiErrors(...CHANGE)
  async rotateSecret(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const { subscription, secret } = await this.webhooks.rotateSecret(id, staffContext(p, body.reason, req));
    return { subscription: subscriptionJson(subscription), secret };
  }

  @Post('webhooks/:id/test')
  @Staff('admin')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a test event', description: `Sends \`webhook.test\` to this subscription alone. ${ADMIN}` })
  @ZodBody(withReason)
  @ApiAcceptedResponse({ description: 'Queued; the delivery to follow.', schema: { type: 'object', required: ['delivery_id'], properties: { delivery_id: { type: 'string', format: 'uuid' } } } })
  @ApiErrors(...CHANGE)
  async test(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    return { delivery_id: await this.webhooks.sendTest(id, staffContext(p, body.reason, req)) };
  }

  @Get('webhooks/:id/deliveries')
  @Staff('admin')
  @ApiOperation({ summary: "A subscription's deliveries", description: `Newest first, a page at a time (\`next_cursor\`). ${ADMIN}` })
  @ZodQuery(deliveriesQuery)
  @ApiOkResponse({ description: 'A page of deliveries.', schema: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: DELIVERY }, next_cursor: nullable(STRING) } } })
  @ApiErrors(...NOT_FOUND, WebhooksErrors.DELIVERY_NOT_FOUND)
  async deliveries(@Param('id') id: string, @Query(new ZodValidationPipe(deliveriesQuery)) q: z.infer<typeof deliveriesQuery>) {
    const page = await this.webhooks.deliveriesOf(id, q);
    return { items: page.items.map((d) => deliveryJson(d, webhookId(d.eventId))), next_cursor: page.nextCursor };
  }

  @Post('webhooks/:id/redeliver-failed')
  @Staff('admin')
  @HttpCode(202)
  @ApiOperation({ summary: 'Redeliver failed deliveries', description: `Every failed delivery of the subscription made since \`since\` gets one more attempt (at most 1,000 a call). ${ADMIN}` })
  @ZodBody(redeliverFailed)
  @ApiAcceptedResponse({ description: 'Queued.', schema: { type: 'object', required: ['redelivering'], properties: { redelivering: { type: 'integer' } } } })
  @ApiErrors(...CHANGE, WebhooksErrors.WEBHOOK_DISABLED)
  async redeliverFailed(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(redeliverFailed)) body: z.infer<typeof redeliverFailed>, @Req() req: FastifyRequest) {
    return { redelivering: await this.webhooks.redeliverFailed(id, new Date(body.since), staffContext(p, body.reason, req)) };
  }

  @Get('deliveries/:id')
  @Staff('admin')
  @ApiOperation({ summary: 'One delivery with its attempts', description: ADMIN })
  @ApiOkResponse({ description: 'The delivery and every attempt.', schema: { type: 'object', required: ['delivery'], properties: { delivery: DELIVERY } } })
  @ApiErrors(...STAFF_ERRORS, WebhooksErrors.DELIVERY_NOT_FOUND)
  async delivery(@Param('id') id: string) {
    const { delivery, attempts } = await this.webhooks.delivery(id);
    return { delivery: deliveryJson(delivery, webhookId(delivery.eventId), attempts) };
  }

  @Post('deliveries/:id/redeliver')
  @Staff('admin')
  @HttpCode(202)
  @ApiOperation({ summary: 'Redeliver one delivery', description: `One more attempt now, with the same \`webhook-id\` (a delivered or failed delivery; 409 while an attempt is on its way). ${ADMIN}` })
  @ZodBody(withReason)
  @ApiAcceptedResponse({ description: 'Queued.', schema: { type: 'object', required: ['delivery'], properties: { delivery: DELIVERY } } })
  @ApiErrors(...CHANGE_ERRORS, WebhooksErrors.DELIVERY_NOT_FOUND, WebhooksErrors.DELIVERY_IN_PROGRESS, WebhooksErrors.WEBHOOK_DISABLED)
  async redeliver(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body(new ZodValidationPipe(withReason)) body: z.infer<typeof withReason>, @Req() req: FastifyRequest) {
    const d = await this.webhooks.redeliver(id, staffContext(p, body.reason, req));
    return { delivery: deliveryJson(d, webhookId(d.eventId)) };
  }

  @Get('audit/:id/deliveries')
  @Staff('admin', 'security')
  @ApiOperation({
    summary: "A revocation's webhook deliveries",
    description: `For the audit row of a revocation (\`audit_id\` in the revoke call's answer): its events and, per subscription, the delivery's state (pending, delivered with status, time and latency, retrying with the next attempt's time, failed) and every attempt. Poll it to follow new attempts. ${roles('admin', 'security')}`,
  })
  @ApiOkResponse({
    description: 'The events and their deliveries (empty when the entry emitted none).',
    schema: {
      type: 'object',
      required: ['events', 'deliveries'],
      properties: {
        events: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, type: STRING, body: { type: 'object', additionalProperties: true } } } },
        deliveries: { type: 'array', items: DELIVERY },
      },
    },
  })
  @ApiErrors(...STAFF_ERRORS)
  async forRevocation(@Param('id') id: string) {
    const { events, deliveries, attempts } = await this.webhooks.forRevocation(id);
    return {
      events,
      deliveries: deliveries.map((d) => deliveryJson(d, webhookId(d.eventId), attempts.filter((a) => a.deliveryId === d.id))),
    };
  }
}
