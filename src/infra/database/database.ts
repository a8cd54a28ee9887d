/**
 * One SQL statement runner inside a transaction. Ports that must write in another module's
 * transaction (the revocation write ports, the audit log) take this type, never TypeORM's.
 * `query` always answers the rows (an UPDATE ... RETURNING too).
 */
export interface Tx {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/**
 * Where PostgreSQL answers (DATABASE_URL, or the embedded server's socket URL): for a library that
 * keeps its own connections, such as the webhooks' job queue.
 */
export abstract class DatabaseEndpoint {
  abstract readonly url: string;
}

/** Port: PostgreSQL, for code that must not know TypeORM (the revocation module, the audit log). */
export abstract class Database {
  /** One statement outside any transaction; answers the rows. */
  abstract query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  abstract transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * Now in milliseconds on the database's clock. Cutoffs and the issue times of tokens that race with
 * them are both read from it, inside the transactions that hold the row locks, so their order is
 * the order of the commits whatever the instances' own clocks say.
 */
export const CLOCK_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text`;
