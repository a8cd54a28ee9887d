import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The admin console's second factor: one TOTP secret per staff member (sealed with the
 * key-encryption key), the last time step accepted (a code is accepted once), and ten one-time
 * recovery codes, stored as SHA-256 hashes.
 */
export class CreateConsole1765000000000 implements MigrationInterface {
  name = 'CreateConsole1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE staff_totp (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret_sealed text NOT NULL,
        last_step bigint NOT NULL DEFAULT 0,
        enrolled_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE staff_recovery_codes (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash text NOT NULL,
        used_at timestamptz,
        PRIMARY KEY (user_id, code_hash)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE staff_recovery_codes`);
    await q.query(`DROP TABLE staff_totp`);
  }
}
