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

/** What a revocation decided inside its transaction: the records in force, and the audit row. */
export interface RevocationPlan {
  records: RevocationRecord[];
  audit: AuditRecord;
  /** False when the revocation was committed before: write nothing new, only re-assert the denylist. */
  persist?: boolean;
}

/**
 * Port: one PostgreSQL transaction that applies a state change, records the revocations that are in
 * force because of it, and writes the audit row. Nothing is half-written.
 */
export abstract class RevocationRepository {
  /**
   * Runs `work` (the state change; it returns the plan, or null when there is nothing to do and so
   * nothing to write), then writes the plan's records and audit row, all in one transaction.
   */
  abstract commit(work: (tx: EntityManager) => Promise<RevocationPlan | null>, ctx: AuditContext): Promise<RevocationPlan | null>;
  /** Every revocation still in force, to rebuild the denylist from. */
  abstract inForce(now: Date): Promise<RevocationRecord[]>;
  /** The id of the newest revocation record ('0' when there is none). */
  abstract latestId(): Promise<string>;
  /** Revocations recorded after `afterId` (all still in force), and the newest id seen. */
  abstract since(afterId: string, now: Date): Promise<{ records: RevocationRecord[]; lastId: string }>;
}

interface RecordRow {
  id?: string;
  kind: DenylistKind;
  subject: string;
  cutoff_ms: string | null;
  honour_until: Date;
}

const toRecord = (r: RecordRow): RevocationRecord => ({
  kind: r.kind,
  subject: r.subject,
  cutoffMs: r.cutoff_ms == null ? undefined : Number(r.cutoff_ms),
  honourUntil: new Date(r.honour_until),
});

@Injectable()
export class TypeOrmRevocationRepository extends RevocationRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  commit(work: (tx: EntityManager) => Promise<RevocationPlan | null>, ctx: AuditContext): Promise<RevocationPlan | null> {
    return this.ds.transaction(async (tx) => {
      const plan = await work(tx);
      if (!plan || plan.persist === false) return plan;
      for (const r of plan.records) {
        await tx.query(`INSERT INTO revocations (kind, subject, cutoff_ms, honour_until) VALUES ($1, $2, $3, $4)`, [r.kind, r.subject, r.cutoffMs ?? null, r.honourUntil]);
      }
      const a = plan.audit;
      await tx.query(
        `INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, reason, request_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [ctx.actorType, ctx.actorId, a.action, a.targetType, a.targetId, ctx.reason, ctx.requestId ?? null, JSON.stringify(a.data ?? {})],
      );
      return plan;
    });
  }

  async inForce(now: Date): Promise<RevocationRecord[]> {
    const rows: RecordRow[] = await this.ds.query(
      `SELECT kind, subject, max(cutoff_ms) AS cutoff_ms, max(honour_until) AS honour_until FROM revocations WHERE honour_until > $1 GROUP BY kind, subject`,
      [now],
    );
    return rows.map(toRecord);
  }

  async latestId(): Promise<string> {
    const [row] = await this.ds.query(`SELECT coalesce(max(id), 0)::text AS id FROM revocations`);
    return row.id as string;
  }

  async since(afterId: string, now: Date): Promise<{ records: RevocationRecord[]; lastId: string }> {
    const rows: RecordRow[] = await this.ds.query(
      `SELECT id::text, kind, subject, cutoff_ms, honour_until FROM revocations WHERE id > $1::bigint ORDER BY revocations.id LIMIT 10000`,
      [afterId],
    );
    const lastId = rows.length ? rows[rows.length - 1].id! : afterId;
    return { records: rows.filter((r) => new Date(r.honour_until) > now).map(toRecord), lastId };
  }
}
