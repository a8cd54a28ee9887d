import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../../migrations/index.js';

/** TypeORM options shared by the service, the CLI and the tests: schema only through migrations. */
export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
    logging: false,
  };
}
