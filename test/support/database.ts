import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** PostgreSQL when DATABASE_URL is set, else the embedded PGlite: the suites run on both. */
export const onRealPostgres = Boolean(process.env.DATABASE_URL);

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

function startPglite(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['test/support/pglite-server.mjs', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /READY (\d+)/.exec(seen);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`PGlite test server exited with ${code}`)));
  });
}

/**
 * A database of this test file's own. `migrated` (default) clones the migrated template;
 * otherwise the database is empty, for the migration tests.
 */
export async function createTestDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  if (onRealPostgres) {
    const name = `lk_t_${process.env.LK_TEST_RUN_ID}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(migrated ? `CREATE DATABASE ${name} TEMPLATE ${process.env.LK_TEST_TEMPLATE_DB}` : `CREATE DATABASE ${name}`);
    await admin.end();
    return {
      url: withDatabase(process.env.DATABASE_URL!, name),
      async drop() {
        const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const { child, port } = await startPglite(migrated ? ['--load', process.env.LK_TEST_PGLITE_TEMPLATE!] : []);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async drop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    },
  };
}
