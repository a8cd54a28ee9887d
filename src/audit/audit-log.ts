import type { Tx } from '../infra/database/database.js';

/** Who did it, why, and in which request: written to the audit log with every state change. */
export interface AuditContext {
  actorType: 'user' | 'admin' | 'client' | 'system';
  actorId: string | null;
  reason: string;
  requestId?: string;
}

/** What was done to what. */
export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string;
  data?: Record<string, unknown>;
}

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

export interface AuditFilter {
  actor?: string;
  target?: string;
  action?: string;
  /** Entries at or after `from`, and before `until`. */
  from?: Date;
  until?: Date;
  /** The id of the last entry of the previous page. */
  cursor?: string;
  limit: number;
}

/** Port: the audit log, and its only writer. */
export abstract class AuditLog {
  /** Writes one row, inside `tx` when given (a revocation writes its rows in its own transaction); answers its id. */
  abstract record(entry: AuditRecord, ctx: AuditContext, tx?: Tx): Promise<string>;
  /** One entry by id (the console's incident view); null when there is none. */
  abstract get(id: string): Promise<AuditEntry | null>;
  /** Newest first. */
  abstract list(filter: AuditFilter): Promise<{ items: AuditEntry[]; nextCursor: string | null }>;
}
