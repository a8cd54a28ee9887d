import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { DenylistKind } from './denylist.store.js';

/** Who did it, why, and in which request: written to the audit log with every revocation. */
export interface AuditContext {
  actorType: 'user' | 'admin' | 'client' | 'system';
  actorId: string | null;
  reason: string;
  requestId?: string;
}

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string;
  data?: Record<string, unknown>;
}

export interface RevocationRecord {
  kind: DenylistKind;
  subject: string;
  cutoffMs?: number;
  honourUntil: Date;
}

/**
 * Port: one PostgreSQL transaction that applies a state change, records the revocations that are in
 * force because of it, and writes the audit row. Nothing is half-written.
 */
export abstract class RevocationRepository {
  /**
   * Runs `change` (the state change; it returns false when there was nothing to revoke), then writes
   * the records and the audit row, all in one transaction.
   */
  abstract commit(
    change: (tx: EntityManager) => Promise<boolean>,
    records: RevocationRecord[],
    audit: AuditRecord,
    ctx: AuditContext,
  ): Promise<boolean>;
  /** Every revocation still in force, to rebuild the denylist from. */
  abstract inForce(now: Date): Promise<RevocationRecord[]>;
}

@Injectable()
export class TypeOrmRevocationRepository extends RevocationRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  commit(change: (tx: EntityManager) => Promise<boolean>, records: RevocationRecord[], audit: AuditRecord, ctx: AuditContext): Promise<boolean> {
    return this.ds.transaction(async (tx) => {
      if (!(await change(tx))) return false;
      for (const r of records) {
        await tx.query(`INSERT INTO revocations (kind, subject, cutoff_ms, honour_until) VALUES ($1, $2, $3, $4)`, [r.kind, r.subject, r.cutoffMs ?? null, r.honourUntil]);
      }
      await tx.query(
        `INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, reason, request_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [ctx.actorType, ctx.actorId, audit.action, audit.targetType, audit.targetId, ctx.reason, ctx.requestId ?? null, JSON.stringify(audit.data ?? {})],
      );
      return true;
    });
  }

  async inForce(now: Date): Promise<RevocationRecord[]> {
    const rows: { kind: DenylistKind; subject: string; cutoff_ms: string | null; honour_until: Date }[] = await this.ds.query(
      `SELECT kind, subject, max(cutoff_ms) AS cutoff_ms, max(honour_until) AS honour_until FROM revocations WHERE honour_until > $1 GROUP BY kind, subject`,
      [now],
    );
    return rows.map((r) => ({ kind: r.kind, subject: r.subject, cutoffMs: r.cutoff_ms == null ? undefined : Number(r.cutoff_ms), honourUntil: new Date(r.honour_until) }));
  }
}
