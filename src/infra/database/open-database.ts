import type { AppConfig } from '../../config/config.schema.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export interface DatabaseEndpoint {
  url: string;
  /** 'postgres' for DATABASE_URL; 'embedded' when this process serves PGlite; 'embedded-shared' when it joined one. */
  kind: 'postgres' | 'embedded' | 'embedded-shared';
  close(): Promise<void>;
}

/** DATABASE_URL when set; otherwise the embedded PGlite server under DATA_DIR. */
export async function openDatabase(config: AppConfig): Promise<DatabaseEndpoint> {
  if (config.databaseUrl) return { url: config.databaseUrl, kind: 'postgres', close: async () => undefined };
  // The service pool, a CLI joining it, and later the job queue share the socket server.
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, maxConnections: config.databasePoolSize * 3 + 4 });
  return { url: embedded.url, kind: embedded.owner ? 'embedded' : 'embedded-shared', close: () => embedded.stop() };
}
