import type { AuditRecord } from '../audit/audit-log.js';
import type { Tx } from '../infra/database/database.js';
import type { WebhookEventDraft } from '../webhooks/webhook-events.js';
import type { DenylistKind } from './denylist.store.js';

export interface RevocationRecord {
  kind: DenylistKind;
  subject: string;
  cutoffMs?: number;
  honourUntil: Date;
}

/** What a revocation decided inside its transaction: the records in force, and the audit rows. */
export interface RevocationPlan {
  records: RevocationRecord[];
  /** Written in this order, in the revocation's transaction. */
  audit: AuditRecord[];
  /** False when the revocation was committed before: write nothing new, only re-assert the denylist. */
  persist?: boolean;
  /** What this instance finishes once the transaction has committed (caches), before the denylist write. */
  afterCommit?: () => void | Promise<void>;
  /** The webhook events, written in the same transaction (each tied to the last audit row). */
  events?: WebhookEventDraft[];
  /** The id of the revocation's audit row (its last), once written: the incident view's key. */
  auditId?: string;
}

/** Port: the durable record of every revocation in force (the `revocations` table). */
export abstract class RevocationRepository {
  /** Writes the records inside the revocation's transaction. */
  abstract record(tx: Tx, records: RevocationRecord[]): Promise<void>;
  /** Every revocation still in force, to rebuild the denylist from. */
  abstract inForce(now: Date): Promise<RevocationRecord[]>;
  /** The id of the newest revocation record ('0' when there is none). */
  abstract latestId(): Promise<string>;
  /** Revocations recorded after `afterId` (all still in force), and the newest id seen. */
  abstract since(afterId: string, now: Date): Promise<{ records: RevocationRecord[]; lastId: string }>;
  /**
   * Retention: deletes, in the caller's transaction, at most `limit` records (by id, after
   * `afterId`) whose `honour_until` passed more than `olderThanSeconds` ago. Such a record is no
   * longer in force, so neither the rebuild nor the catch-up would apply it.
   */
  abstract prune(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<RevocationPruneBatch>;
}

/** One batch of a prune: rows looked at, rows deleted, the greatest id looked at (null: none). */
export interface RevocationPruneBatch {
  picked: number;
  deleted: number;
  last: string | null;
}
