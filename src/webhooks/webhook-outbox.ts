import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../infra/database/database.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import { DeliveryWorker } from './delivery/delivery-worker.js';
import { KeyEncryption } from '../infra/crypto/key-encryption.js';
import { DeliveryStore } from './persistence/sql-deliveries.js';
import { SubscriptionStore } from './persistence/sql-subscriptions.js';
import { newWebhookSecret } from './webhook-signing.js';
import { type EventContext, eventBody, subjectKey, type WebhookEventDraft } from './webhook-events.js';

/**
 * Where a revocation writes its event: inside the revocation's own transaction, the event row (with
 * the subject's next sequence number), a delivery for each subscription that wants it, and the first
 * attempt of each as a job. All of it commits with the revocation, or none of it does.
 */
@Injectable()
export class WebhookOutbox {
  constructor(
    private readonly store: DeliveryStore,
    private readonly queue: DeliveryQueue,
    private readonly worker: DeliveryWorker,
    private readonly subscriptions: SubscriptionStore,
    private readonly encryption: KeyEncryption,
  ) {}

  /**
   * OpenID Connect Back-Channel Logout: a logout for a client's receiver, written in the revocation's
   * transaction and delivered like a webhook (durable, retried, SSRF-guarded), as a form POST of a
   * logout token the worker signs at each attempt (same `jti`). Its events count under `backchannel:<client_id>`, apart from the webhook subscribers' subjects.
   */
  async emitBackchannelLogout(tx: Tx, l: { clientId: string; url: string; sid: string; sub: string }): Promise<void> {
    const receiver = await this.subscriptions.backchannelReceiver(tx, l.clientId, l.url, this.encryption.encrypt(newWebhookSecret()));
    const body = { type: 'backchannel.logout', timestamp: new Date().toISOString(), data: { client_id: l.clientId, sid: l.sid, sub: l.sub, jti: randomUUID() } };
    const rows = await this.store.insertEvent(tx, { id: randomUUID(), type: 'backchannel.logout', subject: `backchannel:${l.clientId}`, auditId: null, body }, [receiver]);
    await this.queue.enqueue(
      tx,
      rows.filter((d) => d.id !== null).map((d) => ({ deliveryId: d.id!, subscriptionId: receiver, attempt: 1, behind: d.behind })),
    );
  }

  /** Writes the event in `tx`; answers the ids of the deliveries it made. */
  async emit(tx: Tx, draft: WebhookEventDraft, ctx: EventContext): Promise<string[]> {
    const subject = subjectKey(draft.subject);
    const body = eventBody(draft, ctx, new Date());
    const rows = await this.store.insertEvent(tx, { id: randomUUID(), type: draft.type, subject, auditId: draft.auditId ?? null, body }, draft.subscriptionIds);
    const deliveries = rows.filter((d): d is typeof d & { id: string; subscriptionId: string } => d.id !== null && d.subscriptionId !== null);
    await this.queue.enqueue(
      tx,
      deliveries.map((d) => ({ deliveryId: d.id, subscriptionId: d.subscriptionId, attempt: 1, behind: d.behind })),
    );
    return deliveries.map((d) => d.id);
  }

  /** Once the transaction has committed: this process's worker starts at once instead of at its next poll. */
  committed(): void {
    this.worker.wake();
  }
}
