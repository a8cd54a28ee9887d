import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Database, type Tx } from './database.js';

/** TypeORM's postgres driver answers `[rows, count]` for UPDATE/DELETE ... RETURNING and rows otherwise. */
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? (result[0] as T[]) : (result as T[]));

/**
 * A statement of a transaction is prepared once per connection (named after its text): the ports
 * that write in a revocation's transaction run a handful of fixed texts, and on this path parsing
 * and planning each of them anew cost more than executing it. `pg` takes the named form where
 * TypeORM passes the text through.
 */
const named = (text: string, params?: unknown[]) => (params?.length ? ({ name: `lk_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text } as unknown as string) : text);

const txOf = (em: EntityManager): Tx => ({ query: async <T>(sql: string, params?: unknown[]) => rowsOf<T>(await em.query(named(sql, params), params)) });

/** The Database port on TypeORM's data source (the one pool of the process). */
@Injectable()
export class TypeOrmDatabase extends Database {
  constructor(private readonly ds: DataSource) {
    super();
  }

  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return rowsOf<T>(await this.ds.query(sql, params));
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.ds.transaction((em) => work(txOf(em)));
  }
}
