import { Injectable } from '@nestjs/common';
import { CLOCK_MS, type Tx } from '../../infra/database/database.js';
import { UserRevocationPort } from '../user.revocation-port.js';

@Injectable()
export class UserRevocationRepository extends UserRevocationPort {
  async setCutoff(tx: Tx, userId: string, { lock }: { lock: boolean }): Promise<{ cutoffMs: number } | null> {
    const [row] = await tx.query<{ cutoff_ms: string }>(
      `UPDATE users SET ${lock ? `status = 'locked', ` : ''}tokens_valid_after = now(), updated_at = now() WHERE id = $1 RETURNING id, ${CLOCK_MS} AS cutoff_ms`,
      [userId],
    );
    return row ? { cutoffMs: Number(row.cutoff_ms) } : null;
  }

  async unlock(tx: Tx, userId: string): Promise<boolean> {
    const rows = await tx.query(`UPDATE users SET status = 'active', updated_at = now() WHERE id = $1 RETURNING id`, [userId]);
    return rows.length === 1;
  }

  async setRoles(tx: Tx, userId: string, roles: string[]): Promise<{ previous: string[]; cutoffMs: number } | null> {
    const [row] = await tx.query<{ old: string[]; cutoff_ms: string }>(
      `UPDATE users u SET roles = $2, tokens_valid_after = now(), updated_at = now() FROM (SELECT roles AS old FROM users WHERE id = $1 FOR UPDATE) o WHERE u.id = $1 RETURNING o.old, ${CLOCK_MS} AS cutoff_ms`,
      [userId, roles],
    );
    return row ? { previous: row.old, cutoffMs: Number(row.cutoff_ms) } : null;
  }

  async setPasswordHash(tx: Tx, userId: string, passwordHash: string): Promise<boolean> {
    const rows = await tx.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING id`, [userId, passwordHash]);
    return rows.length === 1;
  }
}
