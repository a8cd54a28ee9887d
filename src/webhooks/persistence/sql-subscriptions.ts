import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../infra/database/database.js';
import type { Subscription } from '../subscription.js';

interface Row {
  id: string;
  url: string;
  description: string;
  event_types: string[] | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | null;
  previous_secret_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, url, description, event_types, enabled, disabled_reason, failing_since, previous_secret_until, created_at, updated_at';

const toSubscription = (r: Row): Subscription => ({
  id: r.id,
  url: r.url,
  description: r.description,
  eventTypes: r.event_types,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  failingSince: r.failing_since ? new Date(r.failing_since) : null,
  previousSecretUntil: r.previous_secret_until ? new Date(r.previous_secret_until) : null,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An id that cannot name a row is simply not found (and never reaches PostgreSQL's uuid parser). */
export const isUuid = (id: string) => UUID.test(id);

export interface SubscriptionPatch {
  url?: string;
  description?: string;
  eventTypes?: string[] | null;
  enabled?: boolean;
}

/**
 * The `webhook_subscriptions` table. Secrets are stored sealed with the key-encryption key. Rows of
 * kind `backchannel_logout` are client apps' back-channel logout receivers: delivered by the same
 * worker, but neither listed nor changed through the webhook API (they follow the client).
 */
@Injectable()
export class SubscriptionStore {
  constructor(private readonly db: Database) {}

  async insert(tx: Tx, s: { url: string; description: string; eventTypes: string[] | null; enabled: boolean; secretEnc: string }): Promise<Subscription> {
    const [row] = await tx.query<Row>(
      `INSERT INTO webhook_subscriptions (url, description, event_types, enabled, secret_enc) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [s.url, s.description, s.eventTypes, s.enabled, s.secretEnc],
    );
    return toSubscription(row);
  }

  /**
   * The back-channel logout receiver of a client app, made on its first logout and kept pointing at
   * the client's current URI; subscribed to no event type, it gets only what is addressed to it.
   */
  async backchannelReceiver(tx: Tx, clientId: string, url: string, secretEnc: string): Promise<string> {
    const [row] = await tx.query<{ id: string }>(
      `INSERT INTO webhook_subscriptions (url, description, event_types, enabled, secret_enc, kind, client_id)
       VALUES ($1, $2, '{}', true, $3, 'backchannel_logout', $4)
       ON CONFLICT (client_id) WHERE kind = 'backchannel_logout' DO UPDATE SET url = EXCLUDED.url RETURNING id`,
      [url, `Back-channel logout of client ${clientId}`, secretEnc, clientId],
    );
    return row.id;
  }

  async list(): Promise<Subscription[]> {
    return (await this.db.query<Row>(`SELECT ${COLUMNS} FROM webhook_subscriptions WHERE kind = 'webhook' ORDER BY created_at, id`)).map(toSubscription);
  }

  async get(id: string, tx: Tx = this.db, lock = false): Promise<Subscription | null> {
    if (!isUuid(id)) return null;
    const [row] = await tx.query<Row>(`SELECT ${COLUMNS} FROM webhook_subscriptions WHERE id = $1 AND kind = 'webhook'${lock ? ' FOR UPDATE' : ''}`, [id]);
    return row ? toSubscription(row) : null;
  }

  /** Enabling again clears why it was disabled and its failure streak. */
  async update(tx: Tx, id: string, p: SubscriptionPatch): Promise<Subscription | null> {
    if (!isUuid(id)) return null;
    const [row] = await tx.query<Row>(
      `UPDATE webhook_subscriptions SET
         url = COALESCE($2, url),
         description = COALESCE($3, description),
         event_types = CASE WHEN $4::boolean THEN $5::text[] ELSE event_types END,
         enabled = COALESCE($6, enabled),
         disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason ELSE NULL END,
         failing_since = CASE WHEN $6 IS TRUE THEN NULL ELSE failing_since END,
         behind_since = CASE WHEN $6 IS TRUE THEN NULL ELSE behind_since END,
         updated_at = now()
       WHERE id = $1 AND kind = 'webhook' RETURNING ${COLUMNS}`,
      [id, p.url ?? null, p.description ?? null, p.eventTypes !== undefined, p.eventTypes ?? null, p.enabled ?? null],
    );
    return row ? toSubscription(row) : null;
  }

  async delete(tx: Tx, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await tx.query(`DELETE FROM webhook_subscriptions WHERE id = $1 AND kind = 'webhook' RETURNING id`, [id])).length > 0;
  }

  /** The current secret becomes the previous one, signing until `graceUntil`; `secretEnc` is the new one. */
  async rotate(tx: Tx, id: string, secretEnc: string, graceUntil: Date): Promise<Subscription | null> {
    if (!isUuid(id)) return null;
    const [row] = await tx.query<Row>(
      `UPDATE webhook_subscriptions SET previous_secret_enc = secret_enc, previous_secret_until = $3, secret_enc = $2, updated_at = now() WHERE id = $1 AND kind = 'webhook' RETURNING ${COLUMNS}`,
      [id, secretEnc, graceUntil],
    );
    return row ? toSubscription(row) : null;
  }

  /** Disables it (once): answers false when it was disabled already. */
  async disable(tx: Tx, id: string, reason: string): Promise<boolean> {
    return (await tx.query(`UPDATE webhook_subscriptions SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1 AND enabled RETURNING id`, [id, reason])).length > 0;
  }
}
