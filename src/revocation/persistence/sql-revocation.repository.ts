import { Injectable } from '@nestjs/common';
import { Database, type Tx } from '../../infra/database/database.js';
import type { DenylistKind } from '../denylist.store.js';
import { type RevocationPruneBatch, type RevocationRecord, RevocationRepository } from '../revocation.repository.js';

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
export class SqlRevocationRepository extends RevocationRepository {
  constructor(private readonly db: Database) {
    super();
  }

  /** One statement however many records (a lock ends every session of the user: one record each). */
  async record(tx: Tx, records: RevocationRecord[]): Promise<void> {
    if (!records.length) return;
    await tx.query(
      `INSERT INTO revocations (kind, subject, cutoff_ms, honour_until)
       SELECT kind, subject, cutoff_ms, honour_until FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) WITH ORDINALITY AS r(kind, subject, cutoff_ms, honour_until, n) ORDER BY n`,
      [records.map((r) => r.kind), records.map((r) => r.subject), records.map((r) => r.cutoffMs ?? null), records.map((r) => r.honourUntil)],
    );
  }

  async inForce(now: Date): Promise<RevocationRecord[]> {
    const rows = await this.db.query<RecordRow>(
      `SELECT kind, subject, max(cutoff_ms) AS cutoff_ms, max(honour_until) AS honour_until FROM revocations WHERE honour_until > $1 GROUP BY kind, subject`,
      [now],
    );
    return rows.map(toRecord);
  }

  async latestId(): Promise<string> {
    const [row] = await this.db.query<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM revocations`);
    return row.id;
  }

  async since(afterId: string, now: Date): Promise<{ records: RevocationRecord[]; lastId: string }> {
    const rows = await this.db.query<RecordRow>(
      `SELECT id::text, kind, subject, cutoff_ms, honour_until FROM revocations WHERE id > $1::bigint ORDER BY revocations.id LIMIT 10000`,
      [afterId],
    );
    const lastId = rows.length ? rows[rows.length - 1].id! : afterId;
    return { records: rows.filter((r) => new Date(r.honour_until) > now).map(toRecord), lastId };
  }

  async prune(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<RevocationPruneBatch> {
    const [row] = await tx.query<RevocationPruneBatch>(
      `WITH pick AS MATERIALIZED (
         SELECT id FROM revocations WHERE id > $1::bigint AND honour_until < now() - make_interval(secs => $2)
          ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED
       ), gone AS (DELETE FROM revocations WHERE id IN (SELECT id FROM pick) RETURNING id)
       SELECT (SELECT count(*) FROM pick)::int AS picked, (SELECT count(*) FROM gone)::int AS deleted, (SELECT max(id)::text FROM pick) AS last`,
      [afterId ?? '0', olderThanSeconds, limit],
    );
    return row;
  }
}
