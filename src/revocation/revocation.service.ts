import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../config/config.schema.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { DenylistStore } from './denylist.store.js';
import { DenylistSync } from './denylist-sync.service.js';
import { type AuditContext, type RevocationPlan, type RevocationRecord, RevocationRepository } from './revocation.repository.js';

/** The revocation is committed, but not every instance is sure to refuse the tokens yet. */
export class RevocationNotPropagated extends DomainError {
  constructor() {
    super(
      'REVOCATION_NOT_PROPAGATED',
      503,
      'The revocation is recorded and will take effect, but it could not be confirmed on every instance yet; retry the call.',
      undefined,
      { 'retry-after': '1' },
    );
  }
}

export class RevocationTargetNotFound extends DomainError {
  constructor(what: string) {
    super('NOT_FOUND', 404, `no such ${what}`);
  }
}

/**
 * Now in milliseconds on the database's clock. Cutoffs and the issue times of tokens that race with
 * them (SessionRepository) are both read from it, inside the transactions that hold the row locks,
 * so their order is the order of the commits whatever the instances' own clocks say.
 */
export const CLOCK_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text`;

/** Revoking a client leaves room for issuance already in flight and for clocks that disagree. */
const CLIENT_CUTOFF_MARGIN_MS = 60_000;

type Work = (tx: EntityManager, honourUntil: Date) => Promise<RevocationPlan | null>;

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as T[]) : (result as T[]));

/**
 * The one way to revoke anything. Each operation commits the state change, a durable revocation
 * record and an audit row in one PostgreSQL transaction, then writes the denylist, then returns:
 * when it returns, no instance accepts an affected token. If the denylist write fails after the
 * commit, the call fails with 503 REVOCATION_NOT_PROPAGATED, and every instance's DenylistSync
 * still applies the committed record within a second (or Redis is down, and every instance fails
 * closed until it is back and rebuilt).
 *
 * Cutoffs (user, global) are taken inside the transaction on the database's clock, after the row
 * they change is locked: a token issued under a share lock of that row (see SessionRepository)
 * carries an issue time, from the same clock, that is either before the cutoff, or after the new
 * state was committed (and then it carries that state).
 */
@Injectable()
export class RevocationService {
  private readonly logger = new Logger('Revocation');

  constructor(
    private readonly repo: RevocationRepository,
    private readonly denylist: DenylistStore,
    private readonly sync: DenylistSync,
    private readonly config: AppConfig,
  ) {}

  /** RFC 7009 on an access token: that token alone, until it expires. */
  revokeAccessToken(token: { jti: string; exp: number; sub: string }, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async () => {
      const honourUntil = new Date(token.exp * 1000);
      if (honourUntil.getTime() <= Date.now()) return null;
      return {
        records: [{ kind: 'jti', subject: token.jti, honourUntil }],
        audit: { action: 'token.revoked', targetType: 'access_token', targetId: token.jti, data: { sub: token.sub, jti: token.jti } },
      };
    }, ctx);
  }

  /** Ends one login session: its refresh tokens and access tokens are refused. */
  revokeSession(sid: string, ctx: AuditContext, action = 'session.revoked'): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const [row] = rowsOf<{ user_id: string }>(
        await tx.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING user_id`, [sid, action]),
      );
      if (!row) {
        // Revoked before (perhaps by a call whose denylist write failed): assert the entry again.
        const [was] = await tx.query(`SELECT revoked_at FROM sessions WHERE id = $1 AND revoked_at > now() - make_interval(secs => $2)`, [sid, this.config.accessTokenTtl]);
        return was ? { records: [{ kind: 'sid', subject: sid, honourUntil: new Date(new Date(was.revoked_at).getTime() + this.config.accessTokenTtl * 1000) }], audit: { action, targetType: 'session', targetId: sid }, persist: false } : null;
      }
      return {
        records: [{ kind: 'sid', subject: sid, honourUntil }],
        audit: { action, targetType: 'session', targetId: sid, data: { user_id: row.user_id, sid: [sid] } },
      };
    }, ctx);
  }

  /** A used refresh token came back: the whole session (family) ends. */
  revokeFamilyOnReuse(sid: string, requestId?: string): Promise<RevocationPlan | null> {
    return this.revokeSession(sid, { actorType: 'system', actorId: null, reason: 'a used refresh token was presented again', requestId }, 'refresh_token.reuse_detected');
  }

  /** "Sign out everywhere": every session of the user ends and every token issued until now is refused. */
  revokeUserSessions(userId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.userRevocation(userId, ctx, 'user.sessions_revoked', `UPDATE users SET tokens_valid_after = now(), updated_at = now() WHERE id = $1 RETURNING id`, true);
  }

  /** Lock: no login, no refresh, every session ended and every token refused at once. */
  lockUser(userId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.userRevocation(userId, ctx, 'user.locked', `UPDATE users SET status = 'locked', tokens_valid_after = now(), updated_at = now() WHERE id = $1 RETURNING id`, true);
  }

  /** Unlock: the user may log in again; nothing that was revoked comes back. */
  async unlockUser(userId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    const plan = await this.repo.commit(async (tx) => {
      const [row] = rowsOf<{ id: string }>(await tx.query(`UPDATE users SET status = 'active', updated_at = now() WHERE id = $1 RETURNING id`, [userId]));
      if (!row) throw new RevocationTargetNotFound('user');
      return { records: [], audit: { action: 'user.unlocked', targetType: 'user', targetId: userId } };
    }, ctx);
    return plan;
  }

  /** New roles; tokens carrying the old ones are refused. Sessions live on and refresh into the new roles. */
  setRoles(userId: string, roles: string[], ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const [row] = rowsOf<{ old: string[]; cutoff_ms: string }>(
        await tx.query(
          `UPDATE users u SET roles = $2, tokens_valid_after = now(), updated_at = now() FROM (SELECT roles AS old FROM users WHERE id = $1 FOR UPDATE) o WHERE u.id = $1 RETURNING o.old, ${CLOCK_MS} AS cutoff_ms`,
          [userId, roles],
        ),
      );
      if (!row) throw new RevocationTargetNotFound('user');
      const cutoffMs = Number(row.cutoff_ms);
      return {
        records: [{ kind: 'user', subject: userId, cutoffMs, honourUntil }],
        audit: { action: 'user.roles_changed', targetType: 'user', targetId: userId, data: { from: row.old, to: roles, tokens_valid_after: new Date(cutoffMs).toISOString() } },
      };
    }, ctx);
  }

  /** A new password; every other session of the user ends at once. */
  changePassword(userId: string, passwordHash: string, keepSid: string | undefined, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const [row] = rowsOf<{ id: string }>(await tx.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING id`, [userId, passwordHash]));
      if (!row) throw new RevocationTargetNotFound('user');
      const sids = await this.endSessions(tx, `user_id = $1 AND id IS DISTINCT FROM $2::uuid`, [userId, keepSid ?? null], 'user.password_changed');
      return {
        records: sids.map((sid) => ({ kind: 'sid' as const, subject: sid, honourUntil })),
        audit: { action: 'user.password_changed', targetType: 'user', targetId: userId, data: { sid: sids } },
      };
    }, ctx);
  }

  /** A client app revoked: no token issued to it is accepted, and it cannot get new ones. */
  revokeClient(clientId: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const [row] = rowsOf<{ id: string }>(
        await tx.query(`UPDATE clients SET status = 'revoked', tokens_valid_after = now(), updated_at = now() WHERE client_id = $1 RETURNING id`, [clientId]),
      );
      if (!row) throw new RevocationTargetNotFound('client');
      const cutoffMs = Date.now() + CLIENT_CUTOFF_MARGIN_MS;
      const sids = await this.endSessions(tx, `client_id = $1`, [clientId], 'client.revoked');
      return {
        records: [{ kind: 'client', subject: clientId, cutoffMs, honourUntil: new Date(honourUntil.getTime() + CLIENT_CUTOFF_MARGIN_MS) }],
        audit: { action: 'client.revoked', targetType: 'client', targetId: clientId, data: { sessions_ended: sids.length } },
      };
    }, ctx);
  }

  /** A compromised signing key: every token it signed is refused. The caller rotates first if it was active. */
  revokeSigningKey(kid: string, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const [row] = rowsOf<{ kid: string; status: string }>(
        await tx.query(`UPDATE signing_keys SET status = 'revoked', revoked_at = now() WHERE kid = $1 AND status <> 'revoked' RETURNING kid`, [kid]),
      );
      if (!row) {
        const [exists] = await tx.query(`SELECT 1 FROM signing_keys WHERE kid = $1`, [kid]);
        if (!exists) throw new RevocationTargetNotFound('signing key');
        return null;
      }
      return { records: [{ kind: 'kid', subject: kid, honourUntil }], audit: { action: 'signing_key.revoked', targetType: 'signing_key', targetId: kid } };
    }, ctx);
  }

  /** The panic button: every token issued before now is refused, and every session ends. */
  revokeAll(ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      await tx.query(`LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE`);
      const [{ cutoff_ms }] = await tx.query(`SELECT ${CLOCK_MS} AS cutoff_ms`);
      const cutoffMs = Number(cutoff_ms);
      const ended = rowsOf<{ id: string }>(await tx.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'revoke-all' WHERE revoked_at IS NULL RETURNING id`));
      return {
        records: [{ kind: 'global', subject: '', cutoffMs, honourUntil }],
        audit: { action: 'tokens.revoked_all', targetType: 'global', targetId: '*', data: { sessions_ended: ended.length, tokens_valid_after: new Date(cutoffMs).toISOString() } },
      };
    }, ctx);
  }

  private userRevocation(userId: string, ctx: AuditContext, action: string, update: string, endSessions: boolean): Promise<RevocationPlan | null> {
    return this.apply(async (tx, honourUntil) => {
      const [row] = rowsOf<{ id: string; cutoff_ms: string }>(await tx.query(`${update}, ${CLOCK_MS} AS cutoff_ms`, [userId]));
      if (!row) throw new RevocationTargetNotFound('user');
      // Taken after the user row is locked by the update: see the class comment.
      const cutoffMs = Number(row.cutoff_ms);
      const sids = endSessions ? await this.endSessions(tx, `user_id = $1`, [userId], action) : [];
      const records: RevocationRecord[] = [
        { kind: 'user', subject: userId, cutoffMs, honourUntil },
        ...sids.map((sid) => ({ kind: 'sid' as const, subject: sid, honourUntil })),
      ];
      return { records, audit: { action, targetType: 'user', targetId: userId, data: { sid: sids, tokens_valid_after: new Date(cutoffMs).toISOString() } } };
    }, ctx);
  }

  private async endSessions(tx: EntityManager, where: string, params: unknown[], reason: string): Promise<string[]> {
    const n = params.length + 1;
    const rows = rowsOf<{ id: string }>(
      await tx.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = $${n} WHERE ${where} AND revoked_at IS NULL AND expires_at > now() RETURNING id`, [...params, reason]),
    );
    return rows.map((r) => r.id);
  }

  private async apply(work: Work, ctx: AuditContext): Promise<RevocationPlan | null> {
    const honourUntil = new Date(Date.now() + this.config.accessTokenTtl * 1000);
    const plan = await this.repo.commit((tx) => work(tx, honourUntil), ctx);
    if (!plan || plan.records.length === 0) return plan;
    try {
      await this.denylist.add(
        plan.records.map((r) => ({ kind: r.kind, subject: r.subject, cutoffMs: r.cutoffMs, ttlSeconds: Math.max(1, (r.honourUntil.getTime() - Date.now()) / 1000) })),
      );
    } catch (err) {
      this.sync.markDirty();
      this.logger.error(`denylist write failed after commit (${plan.audit.action} ${plan.audit.targetId}): ${(err as Error).message}`);
      throw new RevocationNotPropagated();
    }
    return plan;
  }
}
