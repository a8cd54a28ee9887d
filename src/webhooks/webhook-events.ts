/** Every event a subscription can choose. A revocation emits one; `webhook.test` is sent on request. */
export const EVENT_TYPES = [
  'user.locked',
  'user.unlocked',
  'user.sessions_revoked',
  'user.roles_changed',
  'user.password_changed',
  'session.revoked',
  'token.revoked',
  'refresh_token.reuse_detected',
  'client.revoked',
  'signing_key.revoked',
  'revocation.global',
  'webhook.test',
] as const;

export type WebhookEventType = (typeof EVENT_TYPES)[number];

/** What an event is about; its sequence counts per subject (`user:<id>`, `client:<client_id>`, ...). */
export interface EventSubject {
  type: 'user' | 'client' | 'signing_key' | 'global' | 'webhook';
  id: string;
}

/** Who did it and why, as the audit log has it. */
export interface EventContext {
  actorType: string;
  actorId: string | null;
  reason: string;
  requestId?: string;
}

/** An event as the revocation decided it; the outbox adds the sequence and the time. */
export interface WebhookEventDraft {
  type: WebhookEventType;
  subject: EventSubject;
  /** Sessions whose tokens are refused. */
  sid?: string[];
  /** Access tokens refused by id. */
  jti?: string[];
  /** Tokens issued before this are refused (user, client and global cutoffs). */
  tokensValidAfter?: Date;
  /** When the last affected token would have expired anyway; null when nothing was revoked. */
  honourUntil: Date | null;
  /** Kind-specific facts (roles before and after, sessions ended...). */
  extra?: Record<string, unknown>;
  /** The audit row of the revocation, for the console's incident view. */
  auditId?: string;
  /** Only these subscriptions (a test event); every matching enabled one otherwise. */
  subscriptionIds?: string[];
}

export const subjectKey = (s: EventSubject) => (s.type === 'global' ? 'global' : `${s.type}:${s.id}`);

/** The body every subscriber receives, `{type, timestamp, data}`, but for `data.sequence`: the statement that writes the event takes it. */
export function eventBody(draft: WebhookEventDraft, ctx: EventContext, at: Date): { type: string; timestamp: string; data: Record<string, unknown> } {
  const data: Record<string, unknown> = {
    subject: draft.subject,
    ...(draft.sid ? { sid: draft.sid } : {}),
    ...(draft.jti ? { jti: draft.jti } : {}),
    ...(draft.tokensValidAfter ? { tokens_valid_after: draft.tokensValidAfter.toISOString() } : {}),
    honour_until: draft.honourUntil?.toISOString() ?? null,
    reason: ctx.reason,
    actor: { type: ctx.actorType, id: ctx.actorId },
    ...(ctx.requestId ? { request_id: ctx.requestId } : {}),
    ...draft.extra,
  };
  return { type: draft.type, timestamp: at.toISOString(), data };
}
