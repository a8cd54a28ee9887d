import { getConstructionPlans } from 'pg-boss';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** pg-boss's own schema: the job queue the webhook deliveries ride on. */
export const JOB_SCHEMA = 'pgboss';

/**
 * Webhook subscriptions, the events every revocation writes in its own transaction (the outbox),
 * one delivery per event and subscription, and every attempt of each. Also pg-boss's schema, at the
 * version the installed pg-boss builds (its plan, without its own BEGIN/COMMIT: this migration's
 * transaction holds it); pg-boss migrates that schema itself on a later upgrade.
 */
export class CreateWebhooks1764900000000 implements MigrationInterface {
  name = 'CreateWebhooks1764900000000';

  async up(q: QueryRunner): Promise<void> {
    const plan = getConstructionPlans(JOB_SCHEMA).trim();
    if (!plan.startsWith('BEGIN;') || !plan.endsWith('COMMIT;')) throw new Error('unexpected pg-boss construction plan: it no longer starts with BEGIN and ends with COMMIT');
    await q.query(plan.slice('BEGIN;'.length, -'COMMIT;'.length));
    await q.query(`
      CREATE TABLE webhook_subscriptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        url text NOT NULL,
        description text NOT NULL DEFAULT '',
        event_types text[],
        enabled boolean NOT NULL DEFAULT true,
        secret_enc text NOT NULL,
        previous_secret_enc text,
        previous_secret_until timestamptz,
        failing_since timestamptz,
        disabled_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE webhook_sequences (
        subject text PRIMARY KEY,
        last bigint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE webhook_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type text NOT NULL,
        subject text NOT NULL,
        sequence bigint NOT NULL,
        audit_id bigint,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (subject, sequence)
      )`);
    await q.query(`CREATE INDEX webhook_events_audit_idx ON webhook_events (audit_id) WHERE audit_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'retrying', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_status integer,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (event_id, subscription_id)
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE webhook_attempts (
        id bigserial PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        number integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        status integer,
        duration_ms integer NOT NULL,
        error text,
        response_excerpt text NOT NULL DEFAULT '',
        manual boolean NOT NULL DEFAULT false
      )`);
    await q.query(`CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_attempts`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhook_events`);
    await q.query(`DROP TABLE webhook_sequences`);
    await q.query(`DROP TABLE webhook_subscriptions`);
    await q.query(`DROP SCHEMA ${JOB_SCHEMA} CASCADE`);
  }
}
