import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../infra/database/database.js';
import type { Attempt, Delivery, DeliveryStatus, EventBody } from '../delivery.js';
import { BEHIND_PRIORITY, DELIVERY_QUEUE, JOB_SCHEMA } from '../delivery/delivery-queue.js';
import { isUuid } from './sql-subscriptions.js';

interface DeliveryRow {
  id: string;
  event_id: string;
  subscription_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
  event_type: string;
  audit_id: string | null;
  url: string;
}

const DELIVERY = `d.id, d.event_id, d.subscription_id, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at, d.updated_at,
  e.type AS event_type, e.audit_id::text AS audit_id, s.url`;
const FROM = `webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id JOIN webhook_subscriptions s ON s.id = d.subscription_id`;

const date = (d: Date | null) => (d ? new Date(d) : null);
const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  eventId: r.event_id,
  eventType: r.event_type,
  auditId: r.audit_id,
  subscriptionId: r.subscription_id,
  url: r.url,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: date(r.next_attempt_at),
  lastStatus: r.last_status,
  lastError: r.last_error,
  deliveredAt: date(r.delivered_at),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

interface AttemptRow {
  id: string;
  delivery_id: string;
  number: number;
  at: Date;
  status: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string;
  manual: boolean;
}

const toAttempt = (r: AttemptRow): Attempt => ({
  id: r.id,
  deliveryId: r.delivery_id,
  number: r.number,
  at: new Date(r.at),
  status: r.status,
  durationMs: r.duration_ms,
  error: r.error,
  responseExcerpt: r.response_excerpt,
  manual: r.manual,
});

/** What an attempt needs, in one read: the delivery's state, its event's body, and its subscription (sealed secrets that sign now included). */
export interface AttemptWork {
  delivery: Delivery;
  body: EventBody;
  subscriptionEnabled: boolean;
  /** Its attempts wait behind the healthy ones (see DeliveryStore.putBehind). */
  subscriptionBehind: boolean;
  sealedSecrets: string[];
  /** `webhook`: a signed JSON event; `backchannel_logout`: a form POST of a logout token. */
  kind: 'webhook' | 'backchannel_logout';
}

/** The outcome written after an attempt. */
export interface AttemptOutcome {
  number: number;
  /** When the attempt began (its row's `at`). */
  startedAt: Date;
  manual: boolean;
  status: number | null;
  durationMs: number;
  error: string | null;
  excerpt: string;
  next: { status: DeliveryStatus; nextAttemptAt: Date | null };
}

/** The outbox: `webhook_events`, `webhook_sequences`, `webhook_deliveries` and `webhook_attempts`. */
@Injectable()
export class DeliveryStore {
  constructor(private readonly db: Database) {}

  /**
   * The event, with its subject's next sequence number, and one pending delivery for each enabled
   * subscription that chose its type (or for the given subscriptions alone), in one statement;
   * answers the sequence number and the deliveries. The subject's sequence row stays locked until
   * the transaction ends, so numbers follow commit order per subject. `body` is the event body
   * without its `data.sequence`, which the statement adds.
   */
  async insertEvent(
    tx: Tx,
    e: { id: string; type: string; subject: string; auditId: string | null; body: EventBody },
    only?: string[],
  ): Promise<{ id: string | null; subscriptionId: string | null; behind: boolean; sequence: string }[]> {
    return tx.query<{ id: string | null; subscriptionId: string | null; behind: boolean; sequence: string }>(
      `WITH seq AS (
         INSERT INTO webhook_sequences (subject, last) VALUES ($3::text, 1) ON CONFLICT (subject) DO UPDATE SET last = webhook_sequences.last + 1 RETURNING last
       ), ev AS (
         INSERT INTO webhook_events (id, type, subject, sequence, audit_id, body)
         SELECT $1::uuid, $2::text, $3::text, seq.last, $4::bigint, jsonb_set($5::jsonb, '{data,sequence}', to_jsonb(seq.last)) FROM seq RETURNING id
       ), made AS (
         INSERT INTO webhook_deliveries (event_id, subscription_id)
         SELECT ev.id, s.id FROM ev, webhook_subscriptions s
         WHERE CASE WHEN $6::uuid[] IS NULL THEN s.enabled AND (s.event_types IS NULL OR $2 = ANY (s.event_types)) ELSE s.id = ANY ($6::uuid[]) END
         RETURNING id, subscription_id
       )
       SELECT made.id, made.subscription_id AS "subscriptionId", coalesce(s.behind_since IS NOT NULL, false) AS behind, seq.last::text AS sequence
       FROM seq LEFT JOIN (made JOIN webhook_subscriptions s ON s.id = made.subscription_id) ON true`,
      [e.id, e.type, e.subject, e.auditId, JSON.stringify(e.body), only ?? null],
    );
  }

  async forAttempt(tx: Tx, deliveryId: string): Promise<AttemptWork | null> {
    const [row] = await tx.query<DeliveryRow & { body: EventBody; enabled: boolean; behind: boolean; secret_enc: string; previous_secret_enc: string | null; kind: AttemptWork['kind'] }>(
      `SELECT ${DELIVERY}, e.body, s.enabled, s.behind_since IS NOT NULL AS behind, s.secret_enc, s.kind,
         CASE WHEN s.previous_secret_until > now() THEN s.previous_secret_enc END AS previous_secret_enc
       FROM ${FROM} WHERE d.id = $1`,
      [deliveryId],
    );
    if (!row) return null;
    const sealedSecrets = [row.secret_enc, ...(row.previous_secret_enc ? [row.previous_secret_enc] : [])];
    return { delivery: toDelivery(row), body: row.body, subscriptionEnabled: row.enabled, subscriptionBehind: row.behind, sealedSecrets, kind: row.kind };
  }

  /**
   * Writes one attempt and the delivery's new state, if the delivery still stands where the attempt
   * found it (`number - 1` attempts): a duplicate of an attempt writes nothing and answers false.
   * In the same statement the attempt's job leaves the queue: deleted rather than completed by a
   * second statement (nothing reads a finished job of this queue: no output, no dependants), so a
   * delivered attempt costs one statement to record. A delivered attempt ends the subscription's
   * failure streak; one answered within `stallMs` also ends its time behind (see putBehind), and
   * its waiting attempts go back among the healthy ones (a slow answer keeps it behind: a slow
   * receiver does not flip back and forth, its backlog rewritten each time).
   */
  async recordAttempt(tx: Tx, deliveryId: string, o: AttemptOutcome, jobId: string, stallMs: number): Promise<boolean> {
    const [row] = await tx.query<{ recorded: boolean }>(
      `WITH moved AS (
         UPDATE webhook_deliveries SET attempts = $2, status = $3, next_attempt_at = $4, last_status = $5, last_error = $6,
           delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END, updated_at = now()
         WHERE id = $1 AND attempts = $2 - 1 RETURNING id
       ), logged AS (
         INSERT INTO webhook_attempts (delivery_id, number, at, status, duration_ms, error, response_excerpt, manual)
         SELECT id, $2, $12, $5, $7, $6, $8, $9 FROM moved RETURNING id
       ), released AS (
         DELETE FROM ${JOB_SCHEMA}.job WHERE name = $10 AND id = $11 RETURNING id
       ), healthy AS (
         UPDATE webhook_subscriptions SET failing_since = NULL, behind_since = CASE WHEN $7 < $13 THEN NULL ELSE behind_since END
         WHERE $3 = 'delivered' AND (failing_since IS NOT NULL OR (behind_since IS NOT NULL AND $7 < $13)) AND id = (SELECT subscription_id FROM webhook_deliveries WHERE id = $1)
         RETURNING id, behind_since
       ), restored AS (
         UPDATE ${JOB_SCHEMA}.job SET priority = 0 WHERE name = $10 AND group_id = (SELECT id::text FROM healthy WHERE behind_since IS NULL) AND state = 'created' AND priority < 0
         RETURNING id
       )
       SELECT EXISTS (SELECT 1 FROM logged) AS recorded, (SELECT count(*) FROM released) AS released, (SELECT count(*) FROM restored) AS restored`,
      [deliveryId, o.number, o.next.status, o.next.nextAttemptAt, o.status, o.error, o.durationMs, o.excerpt, o.manual, DELIVERY_QUEUE, jobId, o.startedAt, stallMs],
    );
    return row.recorded;
  }

  /**
   * Puts a subscription behind the healthy ones (an attempt to it stalled, or `failed`: that also
   * starts its failure streak): its waiting attempts move behind, and the outbox enqueues its next
   * ones there, until recordAttempt ends it. Only the statement that flags it moves the jobs, so
   * attempts that stall or fail together do not each rewrite (and wait on) one backlog. pg-boss has
   * no call for this: only the `priority` it reads changes. Answers since when it has been failing.
   */
  async putBehind(tx: Tx, subscriptionId: string, failed: boolean): Promise<Date | null> {
    const [row] = await tx.query<{ failing_since: Date | null }>(
      `WITH flagged AS (
         UPDATE webhook_subscriptions SET behind_since = COALESCE(behind_since, now()),
           failing_since = CASE WHEN $4::boolean THEN COALESCE(failing_since, now()) ELSE failing_since END
         WHERE id = $2::text::uuid RETURNING behind_since = now() AS fresh, failing_since
       ), moved AS (
         UPDATE ${JOB_SCHEMA}.job SET priority = $3 WHERE name = $1 AND group_id = $2::text AND state = 'created' AND priority > $3 AND EXISTS (SELECT 1 FROM flagged WHERE fresh)
         RETURNING id
       )
       SELECT (SELECT failing_since FROM flagged) AS failing_since, (SELECT count(*) FROM moved) AS moved`,
      [DELIVERY_QUEUE, subscriptionId, BEHIND_PRIORITY, failed],
    );
    return row?.failing_since ? new Date(row.failing_since) : null;
  }

  /** Fails a delivery without an attempt (its subscription was disabled or deleted meanwhile). */
  async abandon(tx: Tx, deliveryId: string, attemptsSeen: number, why: string): Promise<void> {
    await tx.query(`UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $3, updated_at = now() WHERE id = $1 AND attempts = $2 AND status <> 'delivered'`, [
      deliveryId,
      attemptsSeen,
      why,
    ]);
  }

  async get(id: string): Promise<Delivery | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.db.query<DeliveryRow>(`SELECT ${DELIVERY} FROM ${FROM} WHERE d.id = $1`, [id]);
    return row ? toDelivery(row) : null;
  }

  async attempts(deliveryIds: string[]): Promise<Attempt[]> {
    if (!deliveryIds.length) return [];
    return (await this.db.query<AttemptRow>(`SELECT id::text, delivery_id, number, at, status, duration_ms, error, response_excerpt, manual FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY webhook_attempts.id`, [deliveryIds])).map(toAttempt);
  }

  /** A subscription's deliveries, newest first; `cursor` is the last id of the previous page. */
  async forSubscription(subscriptionId: string, f: { status?: DeliveryStatus; cursor?: string; limit: number }): Promise<{ items: Delivery[]; nextCursor: string | null }> {
    const rows = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY} FROM ${FROM}
       WHERE d.subscription_id = $1 AND ($2::text IS NULL OR d.status = $2)
         AND ($3::uuid IS NULL OR (d.created_at, d.id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = $3::uuid))
       ORDER BY d.created_at DESC, d.id DESC LIMIT $4`,
      [subscriptionId, f.status ?? null, f.cursor ?? null, f.limit + 1],
    );
    const items = rows.slice(0, f.limit).map(toDelivery);
    return { items, nextCursor: rows.length > f.limit ? items[items.length - 1].id : null };
  }

  /** The deliveries of the events a revocation (its audit row) emitted. */
  async forAudit(auditId: string): Promise<{ events: { id: string; type: string; body: EventBody }[]; deliveries: Delivery[] }> {
    const events = await this.db.query<{ id: string; type: string; body: EventBody }>(`SELECT id, type, body FROM webhook_events WHERE audit_id = $1::bigint ORDER BY created_at, id`, [auditId]);
    if (!events.length) return { events, deliveries: [] };
    const rows = await this.db.query<DeliveryRow>(`SELECT ${DELIVERY} FROM ${FROM} WHERE d.event_id = ANY ($1::uuid[]) ORDER BY d.created_at, d.id`, [events.map((e) => e.id)]);
    return { events, deliveries: rows.map(toDelivery) };
  }

  /** Which of these audit rows emitted webhook events (the audit log links those to their incident view). */
  async auditIdsWithEvents(auditIds: string[]): Promise<Set<string>> {
    const ids = auditIds.filter((id) => /^\d{1,18}$/.test(id));
    if (!ids.length) return new Set();
    const rows = await this.db.query<{ audit_id: string }>(`SELECT DISTINCT audit_id::text FROM webhook_events WHERE audit_id = ANY ($1::bigint[])`, [ids]);
    return new Set(rows.map((r) => r.audit_id));
  }

  /**
   * Makes a finished delivery pending again for one manual attempt; answers its next attempt's
   * number, or the status that stops it ('pending'/'retrying': an attempt is on its way).
   */
  async reopen(tx: Tx, id: string): Promise<{ attempt: number; subscriptionId: string } | { busy: DeliveryStatus } | { disabled: true } | null> {
    const [row] = await tx.query<{ status: DeliveryStatus; attempts: number; subscription_id: string; enabled: boolean }>(
      `SELECT d.status, d.attempts, d.subscription_id, s.enabled FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = $1 FOR UPDATE OF d`,
      [id],
    );
    if (!row) return null;
    if (row.status === 'pending' || row.status === 'retrying') return { busy: row.status };
    if (!row.enabled) return { disabled: true };
    await tx.query(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now() WHERE id = $1`, [id]);
    return { attempt: row.attempts + 1, subscriptionId: row.subscription_id };
  }

  /**
   * Deliveries left pending or retrying with no job of theirs waiting or running (their job ran out
   * of pg-boss's retries while its worker was gone, or was pruned) are failed, kept for a redelivery.
   */
  async failOrphans(olderThanSeconds: number): Promise<number> {
    const rows = await this.db.query(
      `UPDATE webhook_deliveries d SET status = 'failed', next_attempt_at = NULL, last_error = 'its attempt was lost (no worker could make it); redeliver it', updated_at = now()
       WHERE d.status IN ('pending', 'retrying') AND d.updated_at < now() - make_interval(secs => $2)
         AND NOT EXISTS (SELECT 1 FROM ${JOB_SCHEMA}.job j WHERE j.name = $1 AND j.state < 'completed' AND j.data->>'deliveryId' = d.id::text)
       RETURNING d.id`,
      [DELIVERY_QUEUE, olderThanSeconds],
    );
    return rows.length;
  }

  /** Retention: see WebhookRetention. Events by id (after `afterId`), in the caller's transaction. */
  async prune(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<{ picked: number; deleted: number; last: string | null }> {
    const [row] = await tx.query<{ picked: number; deleted: number; last: string | null }>(
      `WITH pick AS MATERIALIZED (
         SELECT e.id FROM webhook_events e
          WHERE e.id > $1::uuid AND e.created_at < now() - make_interval(secs => $2)
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'retrying'))
          ORDER BY e.id LIMIT $3 FOR UPDATE SKIP LOCKED
       ), gone AS (DELETE FROM webhook_events WHERE id IN (SELECT id FROM pick) RETURNING id)
       SELECT (SELECT count(*) FROM pick)::int AS picked, (SELECT count(*) FROM gone)::int AS deleted, (SELECT max(id::text) FROM pick) AS last`,
      [afterId ?? '00000000-0000-0000-0000-000000000000', olderThanSeconds, limit],
    );
    return row;
  }

  /** The failed deliveries of a subscription created since `since`, oldest first (at most `limit`). */
  async failedSince(subscriptionId: string, since: Date, limit: number): Promise<string[]> {
    return (await this.db.query<{ id: string }>(`SELECT id FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'failed' AND created_at >= $2 ORDER BY created_at, id LIMIT $3`, [subscriptionId, since, limit])).map((r) => r.id);
  }
}
