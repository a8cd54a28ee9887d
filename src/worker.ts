import './gc-tuning.js';
import 'reflect-metadata';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module.js';
import { ConfigModule } from './config/config.module.js';
import { ConfigError } from './config/config.schema.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { openDatabase } from './infra/database/open-database.js';
import { LoggingModule } from './infra/logging/logging.module.js';
import { loadStartupConfig } from './startup-config.js';
import { logoutTokenSignerProvider } from './revocation/logout-token-signing.js';
import { TokensModule } from './tokens/tokens.module.js';
import { LogoutTokenSigner } from './webhooks/logout-token-signer.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

/**
 * `npm run start:worker`: the webhook delivery worker alone, no HTTP server. Any number may run
 * beside the service's own workers (WEBHOOK_WORKER=false turns those off); each attempt is made by
 * one of them at a time.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = { ...loadStartupConfig(), webhookWorker: true };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const database = await openDatabase(config);
  // Back-channel logout tokens are signed at delivery, with the service's keys.
  @Global()
  @Module({ imports: [TokensModule], providers: [logoutTokenSignerProvider], exports: [LogoutTokenSigner] })
  class LogoutTokenSigning {}
  @Module({ imports: [ConfigModule.forRoot(config), LoggingModule, DatabaseModule.forRoot(database.url), AuditModule, LogoutTokenSigning, WebhooksModule] })
  class WorkerModule {}
  const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
  app.get(Logger).log(`webhook worker running (database: ${database.kind === 'postgres' ? 'PostgreSQL at DATABASE_URL' : `embedded PGlite under ${config.dataDir}`})`, 'Latchkey');
  process.once('beforeExit', () => void database.close());
}

main().catch((err: Error) => {
  process.stderr.write(`Latchkey worker failed to start: ${err.message}\n`);
  process.exit(1);
});
