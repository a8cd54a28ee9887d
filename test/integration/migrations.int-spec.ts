import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/infra/database/data-source.js';
import { migrations } from '../../migrations/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

async function tables(ds: DataSource): Promise<string[]> {
  const rows: { table_name: string }[] = await ds.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'typeorm_migrations' ORDER BY 1`,
  );
  return rows.map((r) => r.table_name);
}

describe('migrations', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    ds = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('migrates an empty database up, all the way down, and up again', async () => {
    expect(await tables(ds)).toEqual([]);

    const applied = await ds.runMigrations({ transaction: 'each' });
    expect(applied.map((m) => m.name)).toEqual(migrations.map((m) => new m().name));
    const schema = await tables(ds);
    expect(schema).toContain('users');

    for (let i = 0; i < migrations.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables(ds)).toEqual([]);

    await ds.runMigrations({ transaction: 'each' });
    expect(await tables(ds)).toEqual(schema);
  });

  it('keeps emails unique whatever their case', async () => {
    await ds.query(`INSERT INTO users (email, password_hash) VALUES ('casey@example.com', 'x')`);
    await expect(ds.query(`INSERT INTO users (email, password_hash) VALUES ('Casey@Example.com', 'x')`)).rejects.toThrow();
  });
});
