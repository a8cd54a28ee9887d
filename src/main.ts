import './gc-tuning.js';
import 'reflect-metadata';
import { ConfigError } from './config/config.schema.js';
import { loadStartupConfig } from './startup-config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadStartupConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // Loaded after the configuration is known to be good, so a bad one fails in a blink.
  const [{ createApp }, { openDatabase }, { Logger }] = await Promise.all([
    import('./app.factory.js'),
    import('./infra/database/open-database.js'),
    import('nestjs-pino'),
  ]);
  const database = await openDatabase(config);
  if (database.kind === 'embedded-shared') {
    process.stderr.write(`Another Latchkey process already serves the embedded database in ${config.dataDir}; stop it or set DATA_DIR\n`);
    process.exit(1);
  }
  const app = await createApp({ config, databaseUrl: database.url });
  const logger = app.get(Logger);
  logger.log(
    database.kind === 'postgres'
      ? 'database: PostgreSQL at DATABASE_URL'
      : `database: embedded PGlite under ${config.dataDir} (set DATABASE_URL for a PostgreSQL server)`,
    'Latchkey',
  );
  if (database.kind === 'embedded') {
    logger.log(`database: served on the Unix socket ${database.socketPath} only, open to this user alone (no TCP port); connect with: ${database.psql}`, 'Latchkey');
  }
  logger.log(config.redisUrl ? 'revocation store: Redis at REDIS_URL' : 'revocation store: in-process (single instance only; set REDIS_URL to run several)', 'Latchkey');
  const shutdown = async () => {
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  await app.listen({ port: config.port, host: config.host });
  logger.log(`Latchkey listening on http://${config.host}:${config.port} (issuer ${config.issuer})`, 'Latchkey');
}

main().catch((err: Error) => {
  process.stderr.write(`Latchkey failed to start: ${err.message}\n`);
  process.exit(1);
});
