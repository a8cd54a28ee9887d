import { Injectable } from '@nestjs/common';
import { Database } from '../../infra/database/database.js';
import { UserSql } from '../../users/persistence/user.sql.js';
import { type Session, type SessionRow, SIGN_IN_CLIENT_ID, toSession } from './session.repository.js';

export interface NewSignInSession {
  userId: string;
  ip: string | null;
  userAgent: string | null;
  expiresAt: Date;
  idleExpiresAt: Date;
}

/**
 * Port: the hosted sign-in page's sessions (single sign-on). They are rows of `sessions` like any
 * other, so a lock, "sign out everywhere", a password change, the panic button and the console end
 * them as they end every session, and `/me/sessions` and the admin API list them. The browser holds
 * a random id; only its SHA-256 is stored.
 */
export abstract class SignInSessionRepository {
  /** A new sign-in session, only while the user is active (null otherwise). */
  abstract create(s: NewSignInSession, cookieHash: string): Promise<Session | null>;
  /** The live sign-in session of this cookie, its user still active; null otherwise. */
  abstract findLive(cookieHash: string): Promise<Session | null>;
  /** A new cookie for a live sign-in session whose user signed in again (`prompt=login`): a new id, a new `auth_time`. */
  abstract renew(sid: string, cookieHash: string, idleExpiresAt: Date): Promise<Session | null>;
  /** Restarts the idle timer (never past the absolute end). */
  abstract touch(sid: string, idleExpiresAt: Date): Promise<void>;
}

const SIGN_IN_COLUMNS = `s.id, s.user_id, s.client_id, s.scope, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at, s.idle_expires_at, s.revoked_at, s.kind, s.parent_id, s.auth_time`;


@Injectable()
export class TypeOrmSignInSessionRepository extends SignInSessionRepository {
  constructor(private readonly db: Database) {
    super();
  }

  create(s: NewSignInSession, cookieHash: string): Promise<Session | null> {
    return this.db.transaction(async (tx) => {
      // As for every session: a lock committing meanwhile is seen here, or ends this session after.
      const [user] = await tx.query<{ status: string }>(UserSql.shareLock, [s.userId]);
      if (!user || user.status !== 'active') return null;
      const [row] = await tx.query<SessionRow>(
        `INSERT INTO sessions AS s (user_id, client_id, scope, ip, user_agent, expires_at, idle_expires_at, kind, auth_time, cookie_hash)
         VALUES ($1, $2, '', $3, $4, $5, $6, 'sign_in', now(), $7) RETURNING ${SIGN_IN_COLUMNS}`,
        [s.userId, SIGN_IN_CLIENT_ID, s.ip, s.userAgent, s.expiresAt, s.idleExpiresAt, cookieHash],
      );
      return toSession(row);
    });
  }

  async findLive(cookieHash: string): Promise<Session | null> {
    const [row] = await this.db.query<SessionRow>(
      `SELECT ${SIGN_IN_COLUMNS} FROM sessions s ${UserSql.join('u', 's.user_id')}
        WHERE s.cookie_hash = $1 AND s.kind = 'sign_in' AND s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now() AND u.status = 'active'`,
      [cookieHash],
    );
    return row ? toSession(row) : null;
  }

  async renew(sid: string, cookieHash: string, idleExpiresAt: Date): Promise<Session | null> {
    const [row] = await this.db.query<SessionRow>(
      `UPDATE sessions s SET cookie_hash = $2, auth_time = now(), last_seen_at = now(), idle_expires_at = least($3, expires_at)
        WHERE id = $1 AND kind = 'sign_in' AND revoked_at IS NULL RETURNING ${SIGN_IN_COLUMNS}`,
      [sid, cookieHash, idleExpiresAt],
    );
    return row ? toSession(row) : null;
  }

  async touch(sid: string, idleExpiresAt: Date): Promise<void> {
    await this.db.query(`UPDATE sessions SET last_seen_at = now(), idle_expires_at = least($2, expires_at) WHERE id = $1`, [sid, idleExpiresAt]);
  }
}
