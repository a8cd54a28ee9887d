import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../infra/database/database.js';
import { type AuditContext, type AuditEntry, type AuditFilter, AuditLog, type AuditRecord } from '../audit-log.js';

interface Row {
  id: string;
  at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  reason: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
}

const toEntry = (r: Row): AuditEntry => ({
  id: r.id,
  at: new Date(r.at),
  actorType: r.actor_type,
  actorId: r.actor_id,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  reason: r.reason,
  requestId: r.request_id,
  data: r.data,
});

@Injectable()
export class SqlAuditLog extends AuditLog {
  constructor(private readonly db: Database) {
    super();
  }

  async record(a: AuditRecord, ctx: AuditContext, tx: Tx = this.db): Promise<string> {
    const [row] = await tx.query<{ id: string }>(
      `INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, reason, request_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text`,
      [ctx.actorType, ctx.actorId, a.action, a.targetType, a.targetId, ctx.reason, ctx.requestId ?? null, JSON.stringify(a.data ?? {})],
    );
    return row.id;
  }

  async get(id: string): Promise<AuditEntry | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    const [row] = await this.db.query<Row>('SELECT id::text, at, actor_type, actor_id, action, target_type, target_id, reason, request_id, data FROM audit_log WHERE id = $1::bigint', [id]);
    return row ? toEntry(row) : null;
  }

  async list(f: AuditFilter) {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.actor) add('actor_id = ?', f.actor);
    if (f.target) add('target_id = ?', f.target);
    if (f.action) add('action = ?', f.action);
    if (f.from) add('at >= ?', f.from);
    if (f.until) add('at < ?', f.until);
    if (f.cursor && /^\d{1,18}$/.test(f.cursor)) add('id < ?::bigint', f.cursor);
    params.push(f.limit + 1);
    const rows = await this.db.query<Row>(
      `SELECT id::text, at, actor_type, actor_id, action, target_type, target_id, reason, request_id, data FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY audit_log.id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, f.limit).map(toEntry);
    return { items, nextCursor: rows.length > f.limit ? items[items.length - 1].id : null };
  }
}
