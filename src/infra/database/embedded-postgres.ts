import { chmod, lstat, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { connect, type NetConnectOpts } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { patchSocketQueue } from './pglite-batch-queue.js';

/**
 * The embedded default: PostgreSQL compiled to WASM (PGlite), served through pglite-socket so that
 * TypeORM and every other client use the same `pg` driver as with a real server.
 *
 * PGlite has no authentication, so it is served on a Unix socket, never on a TCP port: the socket
 * is `<DATA_DIR>/.s.PGSQL.5432` (the name libpq and `pg` derive from host=<DATA_DIR>, port 5432),
 * DATA_DIR is made 0700 and the socket 0600, so only the service's user can connect, or read the
 * data files (PGlite writes them world-readable, 0666). One process owns the data directory;
 * another (the CLI while the service runs) finds the owner through a small state file naming the
 * socket and connects to it instead of opening the files.
 *
 * Only the in-memory database (the test suites' own server, which has no DATA_DIR) listens on a
 * loopback TCP port.
 */
export interface EmbeddedPostgresHandle {
  /** A postgres:// URL that reaches the embedded server; for the socket, `?host=<dir>` names it (see data-source.ts). */
  readonly url: string;
  /** True when this process opened the data directory; false when it joined a running owner. */
  readonly owner: boolean;
  /** The Unix socket file (absent in memory, where a loopback port serves). */
  readonly socketPath?: string;
  /** How to connect by hand, e.g. `psql "host=/srv/latchkey/data user=postgres dbname=postgres"`. */
  readonly psql?: string;
  stop(): Promise<void>;
}

/** What the owner writes to DATA_DIR. Before the socket, `port` named a loopback port instead. */
interface OwnerState {
  pid: number;
  socket?: string;
  port?: number;
}

const STATE_FILE = 'embedded-postgres.json';
export const EMBEDDED_SOCKET_PORT = 5432;
const SOCKET_NAME = `.s.PGSQL.${EMBEDDED_SOCKET_PORT}`;
/** sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs, the terminating NUL included. */
const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

function answers(target: NetConnectOpts): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(target);
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

/** The socket of a live owner of `dataDir`, if there is one. */
async function runningOwner(dataDir: string): Promise<string | undefined> {
  let state: OwnerState;
  try {
    state = JSON.parse(await readFile(join(dataDir, STATE_FILE), 'utf8')) as OwnerState;
  } catch {
    return undefined; // no state file, or a torn one: nobody owns the directory
  }
  if (state.pid === process.pid || !processAlive(state.pid)) return undefined;
  if (typeof state.socket === 'string' && (await answers({ path: state.socket }))) return state.socket;
  // A service of the version before the socket still running: opening its files twice would corrupt them.
  if (typeof state.port === 'number' && (await answers({ host: '127.0.0.1', port: state.port }))) {
    throw new Error(`an older Latchkey process (pid ${state.pid}) serves the embedded database in ${dataDir} on port ${state.port}; stop it first`);
  }
  return undefined;
}

const socketUrl = (dir: string) => `postgres://postgres@localhost:${EMBEDDED_SOCKET_PORT}/postgres?host=${encodeURIComponent(dir)}`;
const tcpUrl = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;

/** libpq's keyword=value syntax quotes a value with spaces, quotes or backslashes. */
const libpqValue = (v: string) => (/[\s'\\]/.test(v) || v === '' ? `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'` : v);
const psqlCommand = (dir: string) => `psql "host=${libpqValue(dir)} user=postgres dbname=postgres"`;

function joined(socketPath: string): EmbeddedPostgresHandle {
  const dir = dirname(socketPath);
  return { url: socketUrl(dir), owner: false, socketPath, psql: psqlCommand(dir), stop: async () => undefined };
}

/** DATA_DIR closed to everyone but this user: it holds the socket, the data files and the key file. */
async function makePrivate(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    await chmod(dataDir, 0o700);
  } catch (err) {
    throw new Error(`cannot make DATA_DIR ${dataDir} private to this user (mode 0700): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A socket file nobody answers on (left by a killed owner) or any other file of that name would make
 * listen() fail with EADDRINUSE: remove it. One that answers belongs to a live server: leave it.
 */
async function clearStaleSocket(path: string): Promise<void> {
  try {
    await lstat(path);
  } catch {
    return;
  }
  if (await answers({ path })) throw new Error(`another process serves ${path}; stop it or set DATA_DIR`);
  await unlink(path);
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** Socket connections the server accepts; at least the size of every pool that uses it. */
  maxConnections: number;
  /** In memory only: fixed loopback port; 0 (default) lets the OS choose one. */
  port?: number;
  /** Start from a dump made by `dumpDataDir` (tests clone a migrated template this way). */
  loadFrom?: Blob;
  /** Keep the data in memory only, served on a loopback port (the test suites' server). */
  inMemory?: boolean;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle & { db?: PGlite }> {
  const dataDir = resolve(options.dataDir);
  const socketPath = join(dataDir, SOCKET_NAME);
  if (!options.inMemory) {
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      throw new Error(`DATA_DIR ${dataDir} is too long for its Unix socket ${SOCKET_NAME} (at most ${MAX_SOCKET_PATH - SOCKET_NAME.length - 1} bytes); choose a shorter DATA_DIR`);
    }
    const ownerSocket = await runningOwner(dataDir);
    if (ownerSocket) return joined(ownerSocket);
    await makePrivate(dataDir);
  }

  const db = await PGlite.create(options.inMemory ? undefined : join(dataDir, 'pgdata'), {
    loadDataDir: options.loadFrom,
  });
  const server = new PGLiteSocketServer({
    db,
    ...(options.inMemory ? { host: '127.0.0.1', port: options.port ?? 0 } : { path: socketPath }),
    maxConnections: options.maxConnections,
  });
  patchSocketQueue(server);
  try {
    if (!options.inMemory) await clearStaleSocket(socketPath);
    await server.start();
    // The directory already keeps others out; the socket's own mode says so too.
    if (!options.inMemory) await chmod(socketPath, 0o600);
  } catch (err) {
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw err;
  }
  const stateFile = join(dataDir, STATE_FILE);
  if (!options.inMemory) {
    await rm(stateFile, { force: true }); // a stale one keeps its old mode through writeFile
    await writeFile(stateFile, JSON.stringify({ pid: process.pid, socket: socketPath } satisfies OwnerState), { mode: 0o600 });
  }

  let stopped = false;
  return {
    url: options.inMemory ? tcpUrl(Number(server.getServerConn().split(':').pop())) : socketUrl(dataDir),
    owner: true,
    db,
    ...(options.inMemory ? {} : { socketPath, psql: psqlCommand(dataDir) }),
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      if (!options.inMemory) await rm(stateFile, { force: true });
    },
  };
}
