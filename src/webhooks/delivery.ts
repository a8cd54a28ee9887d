/** pending: not attempted yet (or a manual redelivery on its way); retrying: failed, next attempt scheduled; failed: out of attempts. */
export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed';

export interface EventBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** One event to one subscription. */
export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  /** The audit row of the revocation that emitted the event. */
  auditId: string | null;
  subscriptionId: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Attempt {
  id: string;
  deliveryId: string;
  number: number;
  at: Date;
  status: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string;
  manual: boolean;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const attemptJson = (a: Attempt) => ({
  number: a.number,
  at: a.at.toISOString(),
  status: a.status,
  duration_ms: a.durationMs,
  error: a.error,
  response_excerpt: a.responseExcerpt,
  manual: a.manual,
});

/** The API's shape of a delivery; `webhook_id` is what the subscriber saw in the `webhook-id` header. */
export const deliveryJson = (d: Delivery, webhookId: string, attempts?: Attempt[]) => ({
  id: d.id,
  webhook_id: webhookId,
  event_id: d.eventId,
  event_type: d.eventType,
  audit_id: d.auditId,
  subscription_id: d.subscriptionId,
  url: d.url,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: iso(d.nextAttemptAt),
  last_status: d.lastStatus,
  last_error: d.lastError,
  delivered_at: iso(d.deliveredAt),
  /** From the event's creation to the 2xx that delivered it. */
  latency_ms: d.deliveredAt ? d.deliveredAt.getTime() - d.createdAt.getTime() : null,
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
  ...(attempts ? { attempt_log: attempts.map(attemptJson) } : {}),
});
