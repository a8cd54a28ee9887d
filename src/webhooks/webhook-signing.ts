import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new signing secret: `whsec_` and 32 random bytes in base64 (the Standard Webhooks form). */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** The id an event is known by to its subscribers (`msg_<hex>` of the event id): the same on every attempt and redelivery. */
export const webhookId = (eventId: string): string => `msg_${eventId.replaceAll('-', '')}`;

/**
 * The Standard Webhooks headers for one attempt. Every secret given signs (the current one, and a
 * rotated-out one during its grace period), space-separated, so a subscriber holding either verifies.
 */
export function signedHeaders(msgId: string, at: Date, body: string, secrets: string[]): Record<string, string> {
  const seconds = Math.floor(at.getTime() / 1000);
  const signatures = secrets.map((s) => new Webhook(s).sign(msgId, new Date(seconds * 1000), body));
  return { 'webhook-id': msgId, 'webhook-timestamp': String(seconds), 'webhook-signature': signatures.join(' ') };
}
