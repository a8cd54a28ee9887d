// Migrates one template database per test run; each test file then gets its own clone of it
// (CREATE DATABASE ... TEMPLATE on PostgreSQL, a loaded dump on the embedded PGlite).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../dist/src/infra/database/data-source.js';

export default async function globalSetup() {
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  process.env.LK_TEST_RUN_ID = runId;
  if (process.env.DATABASE_URL) {
    const template = `lk_tpl_${runId}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${template}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${template}`;
    const ds = await new DataSource(dataSourceOptions(url.toString(), 2)).initialize();
    await ds.runMigrations({ transaction: 'each' });
    await ds.destroy();
    process.env.LK_TEST_TEMPLATE_DB = template;
    console.log(`\n[test] PostgreSQL at DATABASE_URL; template database ${template}`);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
    const file = join(dir, 'template.tar.gz');
    const result = spawnSync(process.execPath, ['test/support/pglite-server.mjs', '--dump', file], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`could not build the PGlite template: ${result.stderr}`);
    process.env.LK_TEST_PGLITE_TEMPLATE = file;
    console.log(`\n[test] embedded PGlite (DATABASE_URL unset); template ${file}`);
  }
  console.log(
    process.env.REDIS_URL
      ? '[test] Redis at REDIS_URL'
      : '[test] REDIS_URL unset: in-process revocation store. Standing aside (they need a real Redis; CI sets REDIS_URL):\n' +
          '[test]   test/e2e/revocation-propagation.e2e-spec.ts: two instances sharing Redis, Redis losing its data, Redis unreachable or hung\n' +
          '[test]   test/integration/denylist-store.contract.int-spec.ts, rate-limiter.contract.int-spec.ts: the Redis adapters (the in-process adapters run)',
  );
}
