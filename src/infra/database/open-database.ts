import type { AppConfig } from '../../config/config.schema.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export interface DatabaseEndpoint {
  /** DATABASE_URL, or for the embedded server a URL naming its Unix socket (`?host=<DATA_DIR>`, read by data-source.ts). */
  url: string;
  /** 'postgres' for DATABASE_URL; 'embedded' when this process serves PGlite; 'embedded-shared' when it joined one. */
  kind: 'postgres' | 'embedded' | 'embedded-shared';
  /** Embedded only: the Unix socket file, open to this user only. */
  socketPath?: string;
  /** Embedded only: how to connect by hand, `psql "host=<DATA_DIR> user=postgres dbname=postgres"`. */
  psql?: string;
  close(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded PGlite server on a Unix socket in DATA_DIR. */
export async function openDatabase(config: AppConfig): Promise<DatabaseEndpoint> {
  if (config.databaseUrl) return { url: config.databaseUrl, kind: 'postgres', close: async () => undefined };
  // The service pool, a CLI joining it, and later the job queue share the socket server.
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, maxConnections: config.databasePoolSize * 3 + 4 });
  return {
    url: embedded.url,
    kind: embedded.owner ? 'embedded' : 'embedded-shared',
    socketPath: embedded.socketPath,
    psql: embedded.psql,
    close: () => embedded.stop(),
  };
}
