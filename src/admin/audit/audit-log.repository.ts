import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuditContext, AuditRecord } from '../../revocation/revocation.repository.js';

export interface AuditEntry {
  id: string;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string;
  reason: string | null;
  requestId: string | null;
  data: Record<string, unknown>;
}

/** Port: the audit log. Revocations write their rows in their own transaction; other actions here. */
export abstract class AuditLogRepository {
  abstract record(entry: AuditRecord, ctx: AuditContext): Promise<void>;
  /** Newest first; `cursor` is the id of the last entry of the previous page. */
  abstract list(filter: { actor?: string; target?: string; action?: string; cursor?: string; limit: number }): Promise<{ items: AuditEntry[]; nextCursor: string | null }>;
}

@Injectable()
export class TypeOrmAuditLogRepository extends AuditLogRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  async record(a: AuditRecord, ctx: AuditContext): Promise<void> {
    await this.ds.query(
      `INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, reason, request_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [ctx.actorType, ctx.actorId, a.action, a.targetType, a.targetId, ctx.reason, ctx.requestId ?? null, JSON.stringify(a.data ?? {})],
    );
  }

  async list(f: { actor?: string; target?: string; action?: string; cursor?: string; limit: number }) {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.actor) add('actor_id = ?', f.actor);
    if (f.target) add('target_id = ?', f.target);
    if (f.action) add('action = ?', f.action);
    if (f.cursor && /^\d{1,18}$/.test(f.cursor)) add('id < ?::bigint', f.cursor);
    params.push(f.limit + 1);
    const rows: Record<string, unknown>[] = await this.ds.query(
      `SELECT id::text, at, actor_type, actor_id, action, target_type, target_id, reason, request_id, data FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY audit_log.id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, f.limit).map((r) => ({
      id: r.id as string,
      at: new Date(r.at as string),
      actorType: r.actor_type as string,
      actorId: r.actor_id as string | null,
      action: r.action as string,
      targetType: r.target_type as string,
      targetId: r.target_id as string,
      reason: r.reason as string | null,
      requestId: r.request_id as string | null,
      data: r.data as Record<string, unknown>,
    }));
    return { items, nextCursor: rows.length > f.limit ? items[items.length - 1].id : null };
  }
}
