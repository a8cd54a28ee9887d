import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Database, type Tx } from './database.js';
import { canPrepare, statementName } from './prepared-statements.js';

/** TypeORM's postgres driver answers `[rows, count]` for UPDATE/DELETE ... RETURNING and rows otherwise. */
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? (result[0] as T[]) : (result as T[]));

/**
 * A statement of a transaction is prepared once per connection (see prepared-statements.ts): the
 * ports that write in a revocation's transaction run a handful of fixed texts. `pg` takes the named
 * form where TypeORM passes the text through.
 */
const named = (text: string, params: unknown[] | undefined, prepare: boolean) => (prepare && params?.length ? ({ name: statementName(text), text } as unknown as string) : text);

const txOf = (em: EntityManager, prepare: boolean): Tx => ({ query: async <T>(sql: string, params?: unknown[]) => rowsOf<T>(await em.query(named(sql, params, prepare), params)) });

/** The Database port on TypeORM's data source (the one pool of the process). */
@Injectable()
export class TypeOrmDatabase extends Database implements OnModuleInit {
  private prepare = false;

  constructor(private readonly ds: DataSource) {
    super();
  }

  async onModuleInit(): Promise<void> {
    const [{ version }] = await this.query<{ version: string }>('SELECT version()');
    this.prepare = canPrepare(version);
  }

  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return rowsOf<T>(await this.ds.query(sql, params));
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.ds.transaction((em) => work(txOf(em, this.prepare)));
  }
}
