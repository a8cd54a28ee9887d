import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

/** The webhooks module's conditions. */
export const WebhooksErrors = defineErrors('webhooks', {
  WEBHOOK_NOT_FOUND: { status: 404, title: 'Webhook subscription not found' },
  DELIVERY_NOT_FOUND: { status: 404, title: 'Webhook delivery not found' },
  DELIVERY_IN_PROGRESS: { status: 409, title: 'Webhook delivery is being attempted' },
  WEBHOOK_DISABLED: { status: 409, title: 'Webhook subscription is disabled' },
  INVALID_WEBHOOK_URL: { status: 400, title: 'Invalid webhook URL' },
});

export const webhookNotFound = () => new DomainError(WebhooksErrors.WEBHOOK_NOT_FOUND, 'no such webhook subscription');
export const deliveryNotFound = () => new DomainError(WebhooksErrors.DELIVERY_NOT_FOUND, 'no such webhook delivery');
export const webhookDisabled = () => new DomainError(WebhooksErrors.WEBHOOK_DISABLED, 'the subscription is disabled: enable it before redelivering');
export const invalidWebhookUrl = (why: string) => new DomainError(WebhooksErrors.INVALID_WEBHOOK_URL, `invalid webhook URL: ${why}`);
