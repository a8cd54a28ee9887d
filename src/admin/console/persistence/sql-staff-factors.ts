import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../../infra/database/database.js';

/** The staff members' second factors: a sealed TOTP secret with the last step accepted, and hashed recovery codes. */
@Injectable()
export class SqlStaffFactors {
  constructor(private readonly db: Database) {}

  async secretOf(userId: string): Promise<{ sealed: string; lastStep: number } | null> {
    const [row] = await this.db.query<{ secret_sealed: string; last_step: string }>('SELECT secret_sealed, last_step FROM staff_totp WHERE user_id = $1', [userId]);
    return row ? { sealed: row.secret_sealed, lastStep: Number(row.last_step) } : null;
  }

  /** Enrols, with the step of the confirming code already used and the recovery codes' hashes; false when already enrolled. */
  async enrol(userId: string, sealed: string, step: number, codeHashes: string[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query('INSERT INTO staff_totp (user_id, secret_sealed, last_step) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING RETURNING user_id', [userId, sealed, step]);
      if (rows.length === 0) return false;
      await tx.query('DELETE FROM staff_recovery_codes WHERE user_id = $1', [userId]);
      await tx.query('INSERT INTO staff_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])', [userId, codeHashes]);
      return true;
    });
  }

  /** Moves the last accepted step forward to `step`; false when a code of that step or a later one was already accepted (a replay). */
  async useStep(userId: string, step: number): Promise<boolean> {
    const rows = await this.db.query('UPDATE staff_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2 RETURNING user_id', [userId, step]);
    return rows.length === 1;
  }

  /** Marks a recovery code used; false when it is not one of the user's, or was used already. */
  async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const rows = await this.db.query('UPDATE staff_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id', [userId, codeHash]);
    return rows.length === 1;
  }

  async recoveryCodesLeft(userId: string): Promise<number> {
    const [row] = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM staff_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
    return Number(row?.n ?? 0);
  }

  /** Removes the second factor (the staff member enrols again at the next sign-in), in the caller's transaction. */
  async reset(userId: string, tx: Tx): Promise<boolean> {
    const rows = await tx.query('DELETE FROM staff_totp WHERE user_id = $1 RETURNING user_id', [userId]);
    await tx.query('DELETE FROM staff_recovery_codes WHERE user_id = $1', [userId]);
    return rows.length === 1;
  }
}
