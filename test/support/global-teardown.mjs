import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';

export default async function globalTeardown() {
  if (process.env.LK_TEST_TEMPLATE_DB && process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${process.env.LK_TEST_TEMPLATE_DB} WITH (FORCE)`);
    await admin.end();
  }
  if (process.env.LK_TEST_PGLITE_TEMPLATE) rmSync(dirname(process.env.LK_TEST_PGLITE_TEMPLATE), { recursive: true, force: true });
}
