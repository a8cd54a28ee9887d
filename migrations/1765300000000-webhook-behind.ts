import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A subscription's attempts may wait behind the healthy ones: since an attempt to it stalled (no
 * answer long after a healthy receiver's) or failed, until one is delivered. Apart from
 * `failing_since`, which only a failure starts and which decides when it is disabled.
 */
export class WebhookBehind1765300000000 implements MigrationInterface {
  name = 'WebhookBehind1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_subscriptions ADD COLUMN behind_since timestamptz`);
    await q.query(`UPDATE webhook_subscriptions SET behind_since = failing_since WHERE failing_since IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_subscriptions DROP COLUMN behind_since`);
  }
}
