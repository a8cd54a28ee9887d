import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CLOCK_MS } from '../../infra/database/database.js';
import { UserSql } from '../../users/persistence/user.sql.js';

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
  /** `client`: a client app's login session; `sign_in`: the hosted sign-in page's (single sign-on). */
  kind: SessionKind;
  /** For a client session born of the hosted sign-in page: that sign-in session. */
  parentId: string | null;
  /** When the user last proved their password for this session (OpenID Connect `auth_time`). */
  authTime: Date | null;
}

export type SessionKind = 'client' | 'sign_in';

/** The client_id a sign-in session carries: no registered client has it (theirs are random base64url). */
export const SIGN_IN_CLIENT_ID = 'latchkey:sign-in';

export interface NewSession {
  userId: string;
  clientId: string;
  scope: string;
  ip: string | null;
  userAgent: string | null;
  expiresAt: Date;
  idleExpiresAt: Date;
  /** Born of this sign-in session (authorization code flow): created only while it is live. */
  parentId?: string;
  /** Chosen beforehand (an authorization code records the session it leads to before it exists). */
  id?: string;
  authTime?: Date;
}

/** What a refresh is judged on, read under the token's row lock. */
export interface RefreshCandidate {
  session: Session;
  tokenExpiresAt: Date;
  userStatus: string;
  userRoles: string[];
  userTokensValidAfter: Date | null;
}

export interface RefreshTokenInfo {
  session: Session;
  createdAt: Date;
  expiresAt: Date;
  used: boolean;
  userStatus: string;
  userEmail: string;
}

/** What the refresh must satisfy besides a live session and an active user. */
export interface RefreshConditions {
  clientId: string;
  /** A narrower scope asked for, or undefined for the session's own. */
  scope?: string;
}

export type RefreshClaim =
  | { kind: 'rotated'; session: Session; userRoles: string[]; issuedAtMs: number }
  | { kind: 'refused' }
  | { kind: 'reused'; sessionId: string; clientId: string }
  | { kind: 'unknown' };

/** Port: login sessions and their refresh tokens (stored only as SHA-256). */
export abstract class SessionRepository {
  /**
   * A new session and its first refresh token, in one transaction, only while the user is active
   * (null otherwise). `issuedAtMs` and `roles`, read under the user's lock, are what its first
   * access token must carry.
   */
  abstract create(session: NewSession, refreshHash: string | null, refreshExpiresAt: Date): Promise<{ session: Session; issuedAtMs: number; roles: string[] } | null>;
  /**
   * Atomically marks the refresh token used and stores its successor: of two concurrent claims of
   * one token exactly one rotates. A token that was used before comes back as `reused`, with
   * nothing changed. `check` sees the session as it stood before this use and throws to refuse the
   * refresh; a refused refresh changes nothing (the token stays unused, the session untouched).
   */
  abstract rotate(oldHash: string, newHash: string, idleExpiresAt: Date, want: RefreshConditions, check: (c: RefreshCandidate) => void): Promise<RefreshClaim>;
  abstract find(sid: string): Promise<Session | null>;
  /** A refresh token by its hash, with what introspection and revocation need to judge it. */
  abstract findRefreshToken(hash: string): Promise<RefreshTokenInfo | null>;
  /** Sessions that are neither revoked nor expired, newest first. */
  abstract listLive(userId: string): Promise<Session[]>;
  /** Per user: how many live sessions, and when any session was last used (the console's users table). */
  abstract activity(userIds: string[]): Promise<Map<string, { live: number; lastSeenAt: Date | null }>>;
}

/** A `sessions` row as selected (the cookie hash never leaves the repositories). */
export interface SessionRow {
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
  kind: SessionKind;
  parent_id: string | null;
  auth_time: Date | null;
}

export const toSession = (r: SessionRow): Session => ({
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
  kind: r.kind,
  parentId: r.parent_id,
  authTime: r.auth_time ? new Date(r.auth_time) : null,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class TypeOrmSessionRepository extends SessionRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  create(s: NewSession, refreshHash: string | null, refreshExpiresAt: Date): Promise<{ session: Session; issuedAtMs: number; roles: string[] } | null> {
    return this.ds.transaction(async (tx) => {
      // Share-lock the user: a lock or role change commits either before (and this sees it) or after
      // (and its cutoff is later than this session's first token).
      const [user] = await tx.query(UserSql.shareLock, [s.userId]);
      if (!user || user.status !== 'active') return null;
      if (s.parentId) {
        // The sign-in session it is born of must still stand: a logout or lock in between wins.
        const [parent] = await tx.query(`SELECT id FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() FOR SHARE`, [s.parentId]);
        if (!parent) return null;
      }
      const [row] = await tx.query(
        `INSERT INTO sessions (id, user_id, client_id, scope, ip, user_agent, expires_at, idle_expires_at, parent_id, auth_time)
         VALUES (coalesce($10::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *, ${CLOCK_MS} AS issued_at_ms`,
        [s.userId, s.clientId, s.scope, s.ip, s.userAgent, s.expiresAt, s.idleExpiresAt, s.parentId ?? null, s.authTime ?? null, s.id ?? null],
      );
      // After the insert: a revoke-all holding the sessions table lock has committed by now.
      const issuedAtMs = Number(row.issued_at_ms);
      if (refreshHash) await tx.query(`INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)`, [row.id, refreshHash, refreshExpiresAt]);
      return { session: toSession(row), issuedAtMs, roles: user.roles as string[] };
    });
  }

  async rotate(oldHash: string, newHash: string, idleExpiresAt: Date, want: RefreshConditions, check: (c: RefreshCandidate) => void): Promise<RefreshClaim> {
    // One statement, one round trip, its own transaction: lock the token row (a concurrent claim of
    // the same token waits, then sees it used) and share-lock the user, judge, and only if every
    // condition holds mark the token used, touch the session and store the successor. The issue
    // time of the new access token is taken inside, on the database's clock, before the commit
    // (see RevocationService on cutoffs).
    const [found] = (await this.ds.query(
      `WITH cand AS (
         SELECT rt.id AS token_id, rt.used_at, rt.expires_at AS token_expires_at, u.status AS user_status, u.roles AS user_roles,
                u.tokens_valid_after AS user_tokens_valid_after, s.*
           FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id ${UserSql.join('u', 's.user_id')}
          WHERE rt.token_hash = $1
          FOR UPDATE OF rt FOR SHARE OF u
       ), ok AS (
         SELECT token_id, id AS sid, token_expires_at FROM cand
          WHERE used_at IS NULL AND client_id = $2 AND revoked_at IS NULL AND user_status = 'active'
            AND expires_at > now() AND idle_expires_at > now() AND token_expires_at > now()
            AND ($3::text IS NULL OR string_to_array($3::text, ' ') <@ string_to_array(scope, ' '))
       ), used AS (
         UPDATE refresh_tokens SET used_at = now() WHERE id IN (SELECT token_id FROM ok) RETURNING id
       ), touched AS (
         UPDATE sessions SET last_seen_at = now(), idle_expires_at = least($4, expires_at) WHERE id IN (SELECT sid FROM ok) RETURNING id
       ), added AS (
         INSERT INTO refresh_tokens (session_id, token_hash, expires_at) SELECT sid, $5, token_expires_at FROM ok RETURNING id
       )
       SELECT cand.*, (SELECT count(*) FROM added)::int AS rotated,
              ${CLOCK_MS} AS issued_at_ms
         FROM cand`,
      [oldHash, want.clientId, want.scope ?? null, idleExpiresAt, newHash],
    )) as (SessionRow & { token_id: string; used_at: Date | null; token_expires_at: Date; user_status: string; user_roles: string[]; user_tokens_valid_after: Date | null; rotated: number; issued_at_ms: string })[];
    if (!found) return { kind: 'unknown' };
    if (found.used_at) return { kind: 'reused', sessionId: found.id, clientId: found.client_id };
    const session = toSession(found);
    if (found.rotated !== 1) {
      // Refused, nothing changed. `check` says why (invalid_grant or invalid_scope).
      check({
        session,
        tokenExpiresAt: new Date(found.token_expires_at),
        userStatus: found.user_status,
        userRoles: found.user_roles,
        userTokensValidAfter: found.user_tokens_valid_after ? new Date(found.user_tokens_valid_after) : null,
      });
      return { kind: 'refused' };
    }
    return { kind: 'rotated', session, userRoles: found.user_roles, issuedAtMs: Number(found.issued_at_ms) };
  }

  async findRefreshToken(hash: string): Promise<RefreshTokenInfo | null> {
    const [row] = await this.ds.query(
      `SELECT rt.created_at AS token_created_at, rt.expires_at AS token_expires_at, rt.used_at, u.status AS user_status, u.email AS user_email, s.*
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id ${UserSql.join('u', 's.user_id')} WHERE rt.token_hash = $1`,
      [hash],
    );
    if (!row) return null;
    return {
      session: toSession(row),
      createdAt: new Date(row.token_created_at),
      expiresAt: new Date(row.token_expires_at),
      used: row.used_at !== null,
      userStatus: row.user_status,
      userEmail: row.user_email,
    };
  }

  async find(sid: string): Promise<Session | null> {
    if (!UUID.test(sid)) return null;
    const [row] = await this.ds.query(`SELECT * FROM sessions WHERE id = $1`, [sid]);
    return row ? toSession(row) : null;
  }

  async listLive(userId: string): Promise<Session[]> {
    const rows: SessionRow[] = await this.ds.query(
      `SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() AND idle_expires_at > now() ORDER BY created_at DESC`,
      [userId],
    );
    return rows.map(toSession);
  }

  async activity(userIds: string[]): Promise<Map<string, { live: number; lastSeenAt: Date | null }>> {
    const ids = userIds.filter((id) => UUID.test(id));
    if (ids.length === 0) return new Map();
    const rows: { user_id: string; live: string; last_seen_at: Date | null }[] = await this.ds.query(
      `SELECT user_id, count(*) FILTER (WHERE revoked_at IS NULL AND expires_at > now() AND idle_expires_at > now()) AS live, max(last_seen_at) AS last_seen_at
         FROM sessions WHERE user_id = ANY($1::uuid[]) GROUP BY user_id`,
      [ids],
    );
    return new Map(rows.map((r) => [r.user_id, { live: Number(r.live), lastSeenAt: r.last_seen_at ? new Date(r.last_seen_at) : null }]));
  }
}
