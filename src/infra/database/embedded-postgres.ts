import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { patchSocketQueue } from './pglite-batch-queue.js';

/**
 * The embedded default: PostgreSQL compiled to WASM (PGlite), served on a loopback port through
 * pglite-socket so that TypeORM and every other client use the same `pg` driver as with a real
 * server. One process owns the data directory; another process (the CLI while the service runs)
 * finds the owner through a small state file and connects to its port instead of opening the files.
 */
export interface EmbeddedPostgresHandle {
  /** A postgres:// URL that reaches the embedded server. */
  readonly url: string;
  /** True when this process opened the data directory; false when it joined a running owner. */
  readonly owner: boolean;
  stop(): Promise<void>;
}

interface OwnerState {
  pid: number;
  port: number;
}

const STATE_FILE = 'embedded-postgres.json';

function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
    socket.once('timeout', () => (socket.destroy(), done(false)));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function runningOwner(dataDir: string): Promise<OwnerState | undefined> {
  try {
    const state = JSON.parse(await readFile(join(dataDir, STATE_FILE), 'utf8')) as OwnerState;
    if (state.pid !== process.pid && processAlive(state.pid) && (await portAnswers(state.port))) return state;
  } catch {
    // no state file, or a stale one: nobody owns the directory
  }
  return undefined;
}

const urlFor = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Socket connections the server accepts; at least the size of every pool that uses it. */
  maxConnections: number;
  /** Fixed port; 0 (default) lets the OS choose one. */
  port?: number;
  /** Start from a dump made by `dumpDataDir` (tests clone a migrated template this way). */
  loadFrom?: Blob;
  /** Keep the data in memory only. */
  inMemory?: boolean;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle & { db?: PGlite }> {
  const dataDir = resolve(options.dataDir);
  if (!options.inMemory) {
    await mkdir(dataDir, { recursive: true });
    const owner = await runningOwner(dataDir);
    if (owner) return { url: urlFor(owner.port), owner: false, stop: async () => undefined };
  }

  const db = await PGlite.create(options.inMemory ? undefined : join(dataDir, 'pgdata'), {
    loadDataDir: options.loadFrom,
  });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: options.maxConnections,
  });
  patchSocketQueue(server);
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  const stateFile = join(dataDir, STATE_FILE);
  if (!options.inMemory) await writeFile(stateFile, JSON.stringify({ pid: process.pid, port } satisfies OwnerState));

  let stopped = false;
  return {
    url: urlFor(port),
    owner: true,
    db,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      if (!options.inMemory) await rm(stateFile, { force: true });
    },
  };
}
