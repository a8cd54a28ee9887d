import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/config.schema.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { DenylistStore, type DenylistEntry } from './denylist.store.js';
import { type AuditContext, type RevocationRecord, RevocationRepository } from './revocation.repository.js';

/** The revocation is committed, but not every instance is sure to refuse the tokens yet. */
export class RevocationNotPropagated extends DomainError {
  constructor() {
    super('REVOCATION_NOT_PROPAGATED', 503, 'The revocation is recorded and will take effect, but it could not be confirmed on every instance yet; retry the call.');
  }
}

/**
 * The one way to revoke anything. Each operation commits the state change, a durable revocation
 * record and an audit row in one PostgreSQL transaction, then writes the denylist, then returns:
 * when it returns, no instance accepts an affected token.
 */
@Injectable()
export class RevocationService {
  private readonly logger = new Logger('Revocation');

  constructor(
    private readonly repo: RevocationRepository,
    private readonly denylist: DenylistStore,
    private readonly config: AppConfig,
  ) {}

  /** Ends one login session: its refresh tokens and access tokens are refused. */
  revokeSession(sid: string, ctx: AuditContext, action = 'session.revoked'): Promise<boolean> {
    return this.apply(
      async (tx) => {
        const rows: unknown[] = await tx.query(
          `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
          [sid, action],
        );
        return (rows[0] as unknown[]).length === 1;
      },
      [{ kind: 'sid', subject: sid }],
      { action, targetType: 'session', targetId: sid },
      ctx,
    );
  }

  /** A used refresh token came back: the whole session (family) ends. */
  revokeFamilyOnReuse(sid: string, requestId?: string): Promise<boolean> {
    return this.revokeSession(sid, { actorType: 'system', actorId: null, reason: 'a used refresh token was presented again', requestId }, 'refresh_token.reuse_detected');
  }

  private async apply(
    change: Parameters<RevocationRepository['commit']>[0],
    targets: Omit<RevocationRecord, 'honourUntil'>[],
    audit: Parameters<RevocationRepository['commit']>[2],
    ctx: AuditContext,
  ): Promise<boolean> {
    const ttl = this.config.accessTokenTtl;
    const honourUntil = new Date(Date.now() + ttl * 1000);
    const records = targets.map((t) => ({ ...t, honourUntil }));
    const changed = await this.repo.commit(change, records, { ...audit, data: { ...audit.data, honour_until: honourUntil.toISOString() } }, ctx);
    // Written even when nothing changed: a retry after a failed denylist write must complete it.
    const entries: DenylistEntry[] = records.map((r) => ({ kind: r.kind, subject: r.subject, cutoffMs: r.cutoffMs, ttlSeconds: ttl }));
    try {
      await this.denylist.add(entries);
    } catch (err) {
      this.logger.error(`denylist write failed after commit (${audit.action} ${audit.targetId}): ${(err as Error).message}`);
      throw new RevocationNotPropagated();
    }
    return changed;
  }
}
