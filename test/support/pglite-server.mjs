// A PGlite server in its own process for the test suites run without DATABASE_URL.
//   --dump FILE   create an empty database, migrate it, write its data directory to FILE, exit
//   --load FILE   serve a copy of a dumped database (the per-file clone of the migrated template)
//   (neither)     serve an empty, unmigrated database
// Prints "READY <port>" once it accepts connections; stops on SIGTERM or when stdin closes.
import { readFile, writeFile } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { startEmbeddedPostgres } from '../../dist/src/infra/database/embedded-postgres.js';
import { dataSourceOptions } from '../../dist/src/infra/database/data-source.js';

const args = process.argv.slice(2);
const dump = args.includes('--dump') ? args[args.indexOf('--dump') + 1] : undefined;
const load = args.includes('--load') ? args[args.indexOf('--load') + 1] : undefined;

const loadFrom = load ? new Blob([await readFile(load)]) : undefined;
const server = await startEmbeddedPostgres({ dataDir: 'memory', inMemory: true, maxConnections: 64, loadFrom });

if (dump) {
  const ds = await new DataSource(dataSourceOptions(server.url, 2)).initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();
  const blob = await server.db.dumpDataDir('gzip');
  await writeFile(dump, Buffer.from(await blob.arrayBuffer()));
  await server.stop();
  process.stdout.write('DUMPED\n');
  process.exit(0);
}

const port = new URL(server.url).port;
process.stdout.write(`READY ${port}\n`);
const stop = async () => {
  await server.stop().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
