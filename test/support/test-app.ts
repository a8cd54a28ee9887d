import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory.js';
import { type AppConfig, loadConfig } from '../../src/config/config.schema.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { deleteRedisKeys, freePort, testRedisPrefix } from './isolation.js';

export { deleteRedisKeys, freePort, testRedisPrefix };

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LK_TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL,
    REDIS_KEY_PREFIX: testRedisPrefix(),
    ISSUER: 'http://127.0.0.1:0',
    KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ...env,
  });
}

/** A real Nest app over HTTP on a loopback port, on the given database (or a fresh one). */
export async function startTestApp(options: { database?: TestDatabase; env?: Record<string, string> } = {}): Promise<TestApp & { database: TestDatabase }> {
  const database = options.database ?? (await createTestDatabase());
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = testConfig(database.url, { ISSUER: url, PORT: String(port), ...options.env });
  const app = await createApp({ config, databaseUrl: database.url });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    config,
    url,
    database,
    async close() {
      await app.close();
      await deleteRedisKeys(config.redisKeyPrefix);
      if (!options.database) await database.drop();
    },
  };
}
