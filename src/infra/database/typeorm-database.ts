import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Database, type Tx } from './database.js';

/** TypeORM's postgres driver answers `[rows, count]` for UPDATE/DELETE ... RETURNING and rows otherwise. */
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? (result[0] as T[]) : (result as T[]));

const txOf = (em: EntityManager): Tx => ({ query: async <T>(sql: string, params?: unknown[]) => rowsOf<T>(await em.query(sql, params)) });

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
