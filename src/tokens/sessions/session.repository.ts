import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface Session {
  id: string;
  userId: string;
  clientId: string;
  scope: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  idleExpiresAt: Date;
  revokedAt: Date | null;
}

export interface NewSession {
  userId: string;
  clientId: string;
  scope: string;
  ip: string | null;
  userAgent: string | null;
  expiresAt: Date;
  idleExpiresAt: Date;
}

/** The outcome of presenting a refresh token. */
export type RefreshClaim =
  | { kind: 'rotated'; session: Session }
  | { kind: 'reused'; sessionId: string }
  | { kind: 'unknown' };

/** Port: login sessions and their refresh tokens (stored only as SHA-256). */
export abstract class SessionRepository {
  /** A new session and its first refresh token, in one transaction. */
  abstract create(session: NewSession, refreshHash: string, refreshExpiresAt: Date): Promise<Session>;
  /**
   * Atomically marks the refresh token used and stores its successor: of two concurrent claims of
   * one token exactly one rotates. A token that was used before comes back as `reused`. A rotated
   * claim returns the session as it stood before this use (so its idle limit can be judged).
   */
  abstract rotate(oldHash: string, newHash: string, idleExpiresAt: Date): Promise<RefreshClaim>;
  abstract find(sid: string): Promise<Session | null>;
  /** Sessions that are neither revoked nor expired, newest first. */
  abstract listLive(userId: string): Promise<Session[]>;
}

interface Row {
  id: string;
  user_id: string;
  client_id: string;
  scope: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  idle_expires_at: Date;
  revoked_at: Date | null;
}

const toSession = (r: Row): Session => ({
  id: r.id,
  userId: r.user_id,
  clientId: r.client_id,
  scope: r.scope,
  ip: r.ip,
  userAgent: r.user_agent,
  createdAt: new Date(r.created_at),
  lastSeenAt: new Date(r.last_seen_at),
  expiresAt: new Date(r.expires_at),
  idleExpiresAt: new Date(r.idle_expires_at),
  revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class TypeOrmSessionRepository extends SessionRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  create(s: NewSession, refreshHash: string, refreshExpiresAt: Date): Promise<Session> {
    return this.ds.transaction(async (tx) => {
      const [row] = await tx.query(
        `INSERT INTO sessions (user_id, client_id, scope, ip, user_agent, expires_at, idle_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [s.userId, s.clientId, s.scope, s.ip, s.userAgent, s.expiresAt, s.idleExpiresAt],
      );
      await tx.query(`INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)`, [row.id, refreshHash, refreshExpiresAt]);
      return toSession(row);
    });
  }

  rotate(oldHash: string, newHash: string, idleExpiresAt: Date): Promise<RefreshClaim> {
    return this.ds.transaction(async (tx) => {
      const [claimed] = (await tx.query(
        `UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL RETURNING session_id, expires_at`,
        [oldHash],
      )) as [{ session_id: string; expires_at: Date }[], number];
      if (!claimed.length) {
        const [seen] = await tx.query(`SELECT session_id FROM refresh_tokens WHERE token_hash = $1`, [oldHash]);
        return seen ? { kind: 'reused', sessionId: seen.session_id } : { kind: 'unknown' };
      }
      const [{ session_id: sid, expires_at: expiresAt }] = claimed;
      // The session as it stood for this use (its idle limit before this use extends it).
      const [before] = (await tx.query(`SELECT * FROM sessions WHERE id = $1 FOR UPDATE`, [sid])) as Row[];
      await tx.query(`UPDATE sessions SET last_seen_at = now(), idle_expires_at = least($2, expires_at) WHERE id = $1`, [sid, idleExpiresAt]);
      const row = before;
      await tx.query(`INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)`, [sid, newHash, expiresAt]);
      return { kind: 'rotated', session: toSession(row) };
    });
  }

  async find(sid: string): Promise<Session | null> {
    if (!UUID.test(sid)) return null;
    const [row] = await this.ds.query(`SELECT * FROM sessions WHERE id = $1`, [sid]);
    return row ? toSession(row) : null;
  }

  async listLive(userId: string): Promise<Session[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND idle_expires_at > now() ORDER BY created_at DESC`,
      [userId],
    );
    return rows.map(toSession);
  }
}
