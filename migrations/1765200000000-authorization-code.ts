import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The authorization code flow: sign-in sessions (a kind of session, with the browser cookie's hash
 * and the time the password was checked), the client sessions born of one, one-time authorization
 * codes (stored only as hashes), and the back-channel logout receivers of client apps, delivered by
 * the webhook machinery as subscriptions of their own kind.
 */
export class AuthorizationCode1765200000000 implements MigrationInterface {
  name = 'AuthorizationCode1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE sessions
        ADD COLUMN kind text NOT NULL DEFAULT 'client' CHECK (kind IN ('client', 'sign_in')),
        ADD COLUMN parent_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
        ADD COLUMN auth_time timestamptz,
        ADD COLUMN cookie_hash text UNIQUE`);
    await q.query(`CREATE INDEX sessions_parent_idx ON sessions (parent_id) WHERE parent_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE authorization_codes (
        code_hash text PRIMARY KEY,
        client_id text NOT NULL,
        redirect_uri text NOT NULL,
        code_challenge text,
        scope text NOT NULL,
        nonce text,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        sign_in_session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        auth_time timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        redeemed_at timestamptz,
        session_id uuid,
        reused_at timestamptz
      )`);
    await q.query(`CREATE INDEX authorization_codes_expires_idx ON authorization_codes (expires_at)`);
    await q.query(`
      ALTER TABLE webhook_subscriptions
        ADD COLUMN kind text NOT NULL DEFAULT 'webhook' CHECK (kind IN ('webhook', 'backchannel_logout')),
        ADD COLUMN client_id text`);
    await q.query(`CREATE UNIQUE INDEX webhook_subscriptions_backchannel_idx ON webhook_subscriptions (client_id) WHERE kind = 'backchannel_logout'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM webhook_subscriptions WHERE kind = 'backchannel_logout'`);
    await q.query(`ALTER TABLE webhook_subscriptions DROP COLUMN kind, DROP COLUMN client_id`);
    await q.query(`DROP TABLE authorization_codes`);
    await q.query(`DELETE FROM sessions WHERE kind = 'sign_in'`);
    await q.query(`ALTER TABLE sessions DROP COLUMN kind, DROP COLUMN parent_id, DROP COLUMN auth_time, DROP COLUMN cookie_hash`);
  }
}
