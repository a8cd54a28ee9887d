import { Injectable } from '@nestjs/common';
import { CLOCK_MS, type Tx } from '../../infra/database/database.js';
import { SessionRevocationPort } from './session.revocation-port.js';

@Injectable()
export class SessionRevocationRepository extends SessionRevocationPort {
  async end(tx: Tx, sid: string, reason: string): Promise<{ userId: string; sids: string[] } | null> {
    const [row] = await tx.query<{ user_id: string }>(`UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING user_id`, [sid, reason]);
    if (!row) return null;
    const children = await tx.query<{ id: string }>(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE parent_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id`,
      [sid, reason],
    );
    return { userId: row.user_id, sids: [sid, ...children.map((c) => c.id)] };
  }

  async backchannelTargets(tx: Tx, sids: string[]): Promise<{ sid: string; userId: string; clientId: string; uri: string }[]> {
    if (sids.length === 0) return [];
    const rows = await tx.query<{ id: string; user_id: string; client_id: string; uri: string }>(
      `SELECT s.id, s.user_id, s.client_id, c.backchannel_logout_uri AS uri FROM sessions s JOIN clients c ON c.client_id = s.client_id
        WHERE s.id = ANY($1::uuid[]) AND s.kind = 'client' AND c.backchannel_logout_uri IS NOT NULL AND c.status = 'active'`,
      [sids],
    );
    return rows.map((r) => ({ sid: r.id, userId: r.user_id, clientId: r.client_id, uri: r.uri }));
  }

  async revokedWithin(tx: Tx, sid: string, seconds: number): Promise<Date | null> {
    const [row] = await tx.query<{ revoked_at: Date }>(`SELECT revoked_at FROM sessions WHERE id = $1 AND revoked_at > now() - make_interval(secs => $2)`, [sid, seconds]);
    return row ? new Date(row.revoked_at) : null;
  }

  endForUser(tx: Tx, userId: string, reason: string, keepSid?: string): Promise<string[]> {
    return this.endWhere(tx, `user_id = $1 AND id IS DISTINCT FROM $2::uuid`, [userId, keepSid ?? null], reason);
  }

  endForClient(tx: Tx, clientId: string, reason: string): Promise<string[]> {
    return this.endWhere(tx, `client_id = $1`, [clientId], reason);
  }

  async endAll(tx: Tx, reason: string): Promise<{ ended: number; cutoffMs: number }> {
    await tx.query(`LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE`);
    const [{ cutoff_ms }] = await tx.query<{ cutoff_ms: string }>(`SELECT ${CLOCK_MS} AS cutoff_ms`);
    const ended = await tx.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = $1 WHERE revoked_at IS NULL RETURNING id`, [reason]);
    return { ended: ended.length, cutoffMs: Number(cutoff_ms) };
  }

  private async endWhere(tx: Tx, where: string, params: unknown[], reason: string): Promise<string[]> {
    const n = params.length + 1;
    const rows = await tx.query<{ id: string }>(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $${n} WHERE ${where} AND revoked_at IS NULL AND expires_at > now() RETURNING id`,
      [...params, reason],
    );
    return rows.map((r) => r.id);
  }
}
