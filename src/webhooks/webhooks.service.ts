import { Injectable } from '@nestjs/common';
import { type AuditContext, AuditLog } from '../audit/audit-log.js';
import { AppConfig } from '../config/config.schema.js';
import { KeyEncryption } from '../infra/crypto/key-encryption.js';
import { Database } from '../infra/database/database.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import { urlProblem } from './delivery/target.js';
import type { Attempt, Delivery, DeliveryStatus, EventBody } from './delivery.js';
import { DeliveryStore } from './persistence/sql-deliveries.js';
import { isUuid, SubscriptionStore, type SubscriptionPatch } from './persistence/sql-subscriptions.js';
import type { Subscription } from './subscription.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { newWebhookSecret } from './webhook-signing.js';
import { deliveryNotFound, invalidWebhookUrl, webhookDisabled, webhookNotFound, WebhooksErrors } from './webhooks.errors.js';

export interface NewSubscription {
  url: string;
  description: string;
  /** null: every event type. */
  eventTypes: string[] | null;
  enabled: boolean;
}

/** At most this many failed deliveries are put back by one bulk redelivery. */
export const BULK_REDELIVERY_LIMIT = 1000;

/** Subscriptions and their deliveries, for the admin API, the CLI and the console. Every change is audited with its reason. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly db: Database,
    private readonly subscriptions: SubscriptionStore,
    private readonly deliveries: DeliveryStore,
    private readonly queue: DeliveryQueue,
    private readonly outbox: WebhookOutbox,
    private readonly encryption: KeyEncryption,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
  ) {}

  private checkUrl(url: string): void {
    const problem = urlProblem(url, { production: this.config.env === 'production', allowPrivateNetworks: this.config.webhookAllowPrivateNetworks });
    if (problem) throw invalidWebhookUrl(problem);
  }

  /** A new subscription and its signing secret, which is shown this once. */
  async create(s: NewSubscription, ctx: AuditContext): Promise<{ subscription: Subscription; secret: string }> {
    this.checkUrl(s.url);
    const secret = newWebhookSecret();
    const subscription = await this.db.transaction(async (tx) => {
      const created = await this.subscriptions.insert(tx, { ...s, secretEnc: this.encryption.encrypt(secret) });
      await this.audit.record({ action: 'webhook.created', targetType: 'webhook', targetId: created.id, data: { url: created.url, event_types: created.eventTypes ?? ['*'], enabled: created.enabled } }, ctx, tx);
      return created;
    });
    return { subscription, secret };
  }

  list(): Promise<Subscription[]> {
    return this.subscriptions.list();
  }

  async get(id: string): Promise<Subscription> {
    return (await this.subscriptions.get(id)) ?? Promise.reject(webhookNotFound());
  }

  async update(id: string, patch: SubscriptionPatch, ctx: AuditContext): Promise<Subscription> {
    if (patch.url !== undefined) this.checkUrl(patch.url);
    return this.db.transaction(async (tx) => {
      const updated = await this.subscriptions.update(tx, id, patch);
      if (!updated) throw webhookNotFound();
      const changed = Object.fromEntries(Object.entries({ url: patch.url, description: patch.description, event_types: patch.eventTypes, enabled: patch.enabled }).filter(([, v]) => v !== undefined));
      await this.audit.record({ action: 'webhook.updated', targetType: 'webhook', targetId: id, data: changed }, ctx, tx);
      return updated;
    });
  }

  /** Deletes the subscription with its deliveries, their log, and the attempts still waiting in the queue. */
  async delete(id: string, ctx: AuditContext): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await this.subscriptions.delete(tx, id))) throw webhookNotFound();
      await this.queue.dropWaiting(tx, id);
      await this.audit.record({ action: 'webhook.deleted', targetType: 'webhook', targetId: id }, ctx, tx);
    });
  }

  /** A new secret, shown this once; the old one keeps signing beside it for WEBHOOK_SECRET_GRACE. */
  async rotateSecret(id: string, ctx: AuditContext): Promise<{ subscription: Subscription; secret: string }> {
    const secret = newWebhookSecret();
    const graceUntil = new Date(Date.now() + this.config.webhookSecretGrace * 1000);
    const subscription = await this.db.transaction(async (tx) => {
      const rotated = await this.subscriptions.rotate(tx, id, this.encryption.encrypt(secret), graceUntil);
      if (!rotated) throw webhookNotFound();
      await this.audit.record({ action: 'webhook.secret_rotated', targetType: 'webhook', targetId: id, data: { previous_secret_until: graceUntil.toISOString() } }, ctx, tx);
      return rotated;
    });
    return { subscription, secret };
  }

  /** Sends `webhook.test` to this subscription alone (enabled or not); answers the delivery's id. */
  async sendTest(id: string, ctx: AuditContext): Promise<string> {
    const deliveryId = await this.db.transaction(async (tx) => {
      if (!(await this.subscriptions.get(id, tx))) throw webhookNotFound();
      const auditId = await this.audit.record({ action: 'webhook.tested', targetType: 'webhook', targetId: id }, ctx, tx);
      const [made] = await this.outbox.emit(tx, { type: 'webhook.test', subject: { type: 'webhook', id }, honourUntil: null, auditId, subscriptionIds: [id] }, ctx);
      return made;
    });
    this.outbox.committed();
    return deliveryId;
  }

  async deliveriesOf(subscriptionId: string, f: { status?: DeliveryStatus; cursor?: string; limit: number }): Promise<{ items: Delivery[]; nextCursor: string | null }> {
    await this.get(subscriptionId);
    if (f.cursor && (await this.deliveries.get(f.cursor))?.subscriptionId !== subscriptionId) {
      throw new DomainError(WebhooksErrors.DELIVERY_NOT_FOUND, "the cursor names no delivery of this subscription");
    }
    return this.deliveries.forSubscription(subscriptionId, f);
  }

  async delivery(id: string): Promise<{ delivery: Delivery; attempts: Attempt[] }> {
    const delivery = await this.deliveries.get(id);
    if (!delivery) throw deliveryNotFound();
    return { delivery, attempts: await this.deliveries.attempts([id]) };
  }

  /** One more attempt of a delivered or failed delivery, now, with the same `webhook-id`. */
  async redeliver(id: string, ctx: AuditContext): Promise<Delivery> {
    if (!isUuid(id)) throw deliveryNotFound();
    await this.db.transaction(async (tx) => {
      const reopened = await this.deliveries.reopen(tx, id);
      if (!reopened) throw deliveryNotFound();
      if ('busy' in reopened) throw new DomainError(WebhooksErrors.DELIVERY_IN_PROGRESS, `the delivery is ${reopened.busy}: an attempt is on its way`);
      if ('disabled' in reopened) throw webhookDisabled();
      await this.queue.enqueue(tx, [{ deliveryId: id, subscriptionId: reopened.subscriptionId, attempt: reopened.attempt, manual: true }]);
      await this.audit.record({ action: 'webhook.redelivered', targetType: 'webhook_delivery', targetId: id, data: { subscription_id: reopened.subscriptionId } }, ctx, tx);
    });
    this.outbox.committed();
    return (await this.deliveries.get(id))!;
  }

  /** Every failed delivery of the subscription created since `since` gets one more attempt; answers how many. */
  async redeliverFailed(subscriptionId: string, since: Date, ctx: AuditContext): Promise<number> {
    if (!(await this.get(subscriptionId)).enabled) throw webhookDisabled();
    const ids = await this.deliveries.failedSince(subscriptionId, since, BULK_REDELIVERY_LIMIT);
    let count = 0;
    await this.db.transaction(async (tx) => {
      for (const id of ids) {
        const reopened = await this.deliveries.reopen(tx, id);
        if (!reopened || !('attempt' in reopened)) continue;
        await this.queue.enqueue(tx, [{ deliveryId: id, subscriptionId, attempt: reopened.attempt, manual: true }]);
        count++;
      }
      await this.audit.record({ action: 'webhook.redelivered', targetType: 'webhook', targetId: subscriptionId, data: { since: since.toISOString(), deliveries: count } }, ctx, tx);
    });
    this.outbox.committed();
    return count;
  }

  /** For an incident view: the events a revocation (its audit row) emitted and each delivery's state and attempts. */
  async forRevocation(auditId: string): Promise<{ events: { id: string; type: string; body: EventBody }[]; deliveries: Delivery[]; attempts: Attempt[] }> {
    if (!/^\d{1,18}$/.test(auditId)) return { events: [], deliveries: [], attempts: [] };
    const { events, deliveries } = await this.deliveries.forAudit(auditId);
    return { events, deliveries, attempts: await this.deliveries.attempts(deliveries.map((d) => d.id)) };
  }

  /** Which of these audit rows emitted webhook events: those have an incident view worth opening. */
  auditIdsWithEvents(auditIds: string[]): Promise<Set<string>> {
    return this.deliveries.auditIdsWithEvents(auditIds);
  }
}
