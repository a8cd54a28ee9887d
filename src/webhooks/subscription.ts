/** A service that wants to hear about revocations. Its secrets never leave the webhooks module but once, at creation and rotation. */
export interface Subscription {
  id: string;
  url: string;
  description: string;
  /** null: every event type. */
  eventTypes: string[] | null;
  enabled: boolean;
  /** Why Latchkey disabled it (410 Gone, failing too long); null when enabled or disabled by staff. */
  disabledReason: string | null;
  /** Failing without a success since then; null when the last attempt succeeded. */
  failingSince: Date | null;
  /** Until when a rotated-out secret still signs beside the current one. */
  previousSecretUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The API's shape of a subscription (never its secret). */
export const subscriptionJson = (s: Subscription) => ({
  id: s.id,
  url: s.url,
  description: s.description,
  event_types: s.eventTypes ?? ['*'],
  enabled: s.enabled,
  disabled_reason: s.disabledReason,
  failing_since: s.failingSince?.toISOString() ?? null,
  previous_secret_until: s.previousSecretUntil && s.previousSecretUntil > new Date() ? s.previousSecretUntil.toISOString() : null,
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});
