import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../../migrations/index.js';

type Connection = { url: string } | { host: string; port: number; username?: string; password?: string; database?: string };

/**
 * A URL whose `host` query parameter is a directory is libpq's form for a Unix socket, and what the
 * embedded default hands out (postgres://postgres@localhost:5432/postgres?host=/abs/data): it becomes
 * separate options, so that `pg` connects to <dir>/.s.PGSQL.<port> whatever TypeORM makes of the URL
 * (only user, password, port, database and that host are read). Any other URL, a DATABASE_URL for a
 * server on TCP for one, goes to TypeORM as it is.
 */
export function connectionOptions(url: string): Connection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  const host = parsed.searchParams.get('host');
  if (!host?.startsWith('/')) return { url };
  const part = (s: string) => decodeURIComponent(s) || undefined;
  return {
    host,
    port: parsed.port ? Number(parsed.port) : 5432,
    username: part(parsed.username),
    password: part(parsed.password),
    database: part(parsed.pathname.slice(1)),
  };
}

/** TypeORM options shared by the service, the CLI and the tests: schema only through migrations. */
export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    ...connectionOptions(url),
    synchronize: false,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
    logging: false,
  };
}
