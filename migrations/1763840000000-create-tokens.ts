import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Client apps, signing keys, login sessions, refresh tokens, revocations and the audit log. */
export class CreateTokens1763840000000 implements MigrationInterface {
  name = 'CreateTokens1763840000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE clients (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        client_id text NOT NULL UNIQUE,
        name text NOT NULL,
        type text NOT NULL CHECK (type IN ('confidential', 'public')),
        secret_hash text,
        grant_types text[] NOT NULL,
        scopes text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
        tokens_valid_after timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((type = 'confidential') = (secret_hash IS NOT NULL))
      )`);
    await q.query(`
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        public_jwk jsonb NOT NULL,
        private_key_enc text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (status) WHERE status = 'active'`);
    await q.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        client_id text NOT NULL,
        scope text NOT NULL DEFAULT '',
        ip text,
        user_agent text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        idle_expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text
      )`);
    await q.query(`CREATE INDEX sessions_user_live_idx ON sessions (user_id, created_at) WHERE revoked_at IS NULL`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
    await q.query(`CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)`);
    await q.query(`
      CREATE TABLE revocations (
        id bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('jti', 'sid', 'user', 'client', 'kid', 'global')),
        subject text NOT NULL,
        cutoff_ms bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        honour_until timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX revocations_in_force_idx ON revocations (honour_until)`);
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_type text NOT NULL,
        actor_id text,
        action text NOT NULL,
        target_type text NOT NULL,
        target_id text NOT NULL,
        reason text,
        request_id text,
        data jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_log_target_idx ON audit_log (target_id, at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
    await q.query(`DROP TABLE revocations`);
    await q.query(`DROP TABLE refresh_tokens`);
    await q.query(`DROP TABLE sessions`);
    await q.query(`DROP TABLE signing_keys`);
    await q.query(`DROP TABLE clients`);
  }
}
