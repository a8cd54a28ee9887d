import { Injectable } from '@nestjs/common';
import type { Tx } from '../../infra/database/database.js';

/** One batch of a prune: how many rows it looked at, how many it deleted, and where the next starts. */
export interface PruneBatch {
  picked: number;
  deleted: number;
  /** The greatest id looked at (the next batch starts after it), or null when none was. */
  last: string | null;
}

const FIRST_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * When a session stopped mattering: revoked, past its absolute expiry, or idle past its idle expiry,
 * whichever came first.
 */
const ENDED = `least(coalesce(s.revoked_at, 'infinity'::timestamptz), s.expires_at, s.idle_expires_at)`;

/**
 * Retention of `sessions`, `refresh_tokens` and `authorization_codes`: deletes, one short batch at a time, what can no
 * longer be presented or shown. Each batch walks the primary key from `afterId` (one pass over the
 * table per round), skips rows another transaction holds (a refresh in flight) and runs in the
 * caller's transaction.
 */
@Injectable()
export class SessionRetentionRepository {
  /**
   * Refresh tokens whose session ended, or that themselves expired, more than `olderThanSeconds`
   * ago. A used token of a live session is kept: presented again, it is still recognised as reuse.
   */
  async pruneRefreshTokens(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<PruneBatch> {
    return this.batch(
      tx,
      `SELECT rt.id FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
        WHERE rt.id > $1::uuid AND least(rt.expires_at, ${ENDED}) < now() - make_interval(secs => $2)
        ORDER BY rt.id LIMIT $3 FOR UPDATE OF rt SKIP LOCKED`,
      `DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM pick) RETURNING id`,
      [afterId ?? FIRST_UUID, olderThanSeconds, limit],
    );
  }

  /**
   * Sessions that ended more than `olderThanSeconds` ago and have no refresh token left (those go
   * first, so the ON DELETE CASCADE removes nothing uncounted).
   */
  async pruneSessions(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<PruneBatch> {
    return this.batch(
      tx,
      `SELECT s.id FROM sessions s
        WHERE s.id > $1::uuid AND ${ENDED} < now() - make_interval(secs => $2)
          AND NOT EXISTS (SELECT 1 FROM refresh_tokens rt WHERE rt.session_id = s.id)
        ORDER BY s.id LIMIT $3 FOR UPDATE OF s SKIP LOCKED`,
      `DELETE FROM sessions WHERE id IN (SELECT id FROM pick) RETURNING id`,
      [afterId ?? FIRST_UUID, olderThanSeconds, limit],
    );
  }

  /**
   * Authorization codes that expired more than `olderThanSeconds` ago. Until then a replayed code is
   * still recognised (and revokes what its first redemption issued); after, it is merely unknown.
   */
  async pruneAuthorizationCodes(tx: Tx, olderThanSeconds: number, afterHash: string | null, limit: number): Promise<PruneBatch> {
    return this.batch(
      tx,
      `SELECT code_hash AS id FROM authorization_codes
        WHERE code_hash > $1 AND expires_at < now() - make_interval(secs => $2)
        ORDER BY code_hash LIMIT $3 FOR UPDATE SKIP LOCKED`,
      `DELETE FROM authorization_codes WHERE code_hash IN (SELECT id FROM pick) RETURNING code_hash`,
      [afterHash ?? '', olderThanSeconds, limit],
    );
  }

  private async batch(tx: Tx, pick: string, remove: string, params: unknown[]): Promise<PruneBatch> {
    const [row] = await tx.query<{ picked: number; deleted: number; last: string | null }>(
      `WITH pick AS MATERIALIZED (${pick}), gone AS (${remove})
       SELECT (SELECT count(*) FROM pick)::int AS picked, (SELECT count(*) FROM gone)::int AS deleted,
              (SELECT id::text FROM pick ORDER BY id DESC LIMIT 1) AS last`,
      params,
    );
    return { picked: row.picked, deleted: row.deleted, last: row.last };
  }
}
