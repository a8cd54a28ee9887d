import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { onCleanup } from './cleanup.js';
import type { Placement } from './machine.js';
import { sleep } from './time.js';

/** The repository root (this file runs as dist/bench/lib/stack.js). */
export const ROOT = resolve(import.meta.dirname, '../../..');

/**
 * Where the servers under test keep their data: a fresh PostgreSQL database `lk_bench_<random>` when
 * the bench was started with DATABASE_URL, else the embedded PGlite in a fresh temp dir; Redis under
 * a fresh key prefix `lk-bench-<random>` when REDIS_URL is set. All of it is removed at the end.
 */
export interface Stores {
  database: 'postgres' | 'pglite';
  redis: boolean;
  /** One line for the report, e.g. "PostgreSQL (lk_bench_1a2b3c4d) + Redis (prefix lk-bench-1a2b3c4d)". */
  description: string;
  /** The environment every server and CLI run of this stack shares. */
  env: Record<string, string>;
  /** Undo now (also runs at the end of the bench run). */
  dispose(): Promise<void>;
}

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, commandTimeout: 10_000 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    let rounds = 0;
    do {
      // Keys are `<prefix>:…` and `{<prefix>}:…` (the denylist's hash tag); the prefix is random.
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0' && ++rounds < 100_000);
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function provisionStores(): Promise<Stores> {
  const id = randomBytes(4).toString('hex');
  const undo: (() => Promise<void>)[] = [];
  // Always a temp DATA_DIR: the embedded database lives there, and nothing touches ./data.
  const dataDir = mkdtempSync(join(tmpdir(), `lk-bench-${id}-`));
  undo.push(onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true })));
  const env: Record<string, string> = { DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
  const parts: string[] = [];

  const baseUrl = process.env.DATABASE_URL;
  if (baseUrl) {
    const name = `lk_bench_${id}`;
    await adminQuery(baseUrl, `CREATE DATABASE ${name}`);
    undo.push(onCleanup(`drop database ${name}`, () => adminQuery(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
    env.DATABASE_URL = withDatabase(baseUrl, name);
    parts.push(`PostgreSQL (database ${name})`);
  } else {
    parts.push('embedded PGlite (inside the server process)');
  }

  const redisUrl = process.env.REDIS_URL;
  if (redisUrl) {
    const prefix = `lk-bench-${id}`;
    undo.push(onCleanup(`delete Redis keys *${prefix}*`, async () => void (await deleteRedisKeys(redisUrl, prefix))));
    env.REDIS_URL = redisUrl;
    env.REDIS_KEY_PREFIX = prefix;
    parts.push(`Redis (prefix ${prefix})`);
  } else {
    parts.push('in-process revocation store');
  }

  return {
    database: baseUrl ? 'postgres' : 'pglite',
    redis: Boolean(redisUrl),
    description: parts.join(' + '),
    env,
    async dispose() {
      for (const u of undo.reverse()) await u();
    },
  };
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface Server {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The node process's pid (taskset execs into node, so it keeps the pid). */
  pid: number;
  /** The cores it is pinned to ('0'), or 'any'. */
  cores: string;
  /** Env of this server, for CLI runs against its database. */
  env: NodeJS.ProcessEnv;
  /** The last lines the server printed. */
  output(): string;
  /** Runs `node dist/src/cli.js ...args --json` with this server's env; returns the parsed JSON. */
  cli<T = unknown>(args: string[]): T;
  stop(): Promise<void>;
}

/** Set once by the runner: where servers run and the extra node flags (--cpu-prof with --profile). */
const defaults: { placement: Placement; nodeArgs: string[]; env: Record<string, string> } = {
  placement: { serverPrefix: [], serverCores: 'any', loadCores: 'any', note: 'not pinned' },
  nodeArgs: [],
  /** From `--env=NAME=VALUE`: applied to every server (after the scenario's own). */
  env: {},
};

export function setServerDefaults(d: Partial<typeof defaults>): void {
  Object.assign(defaults, d);
}

export interface ServerOptions {
  stores: Stores;
  /** Default: the runner's (server on core 0). */
  placement?: Placement;
  /** Extra environment (overrides the defaults below). */
  env?: Record<string, string>;
  /** How long to wait for /health/ready, ms. */
  readyTimeoutMs?: number;
}

/** Polls `url` until it answers `status`; fails early if the child exits. */
async function waitReady(label: string, url: string, status: number, child: ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the ${label} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === status) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the ${label} was not ready within ${ms} ms`);
}

function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `node dist/src/main.js` in its own process (pinned to the server core when placement says
 * so), listening on 127.0.0.1 only, and waits for /health/ready. The process is killed at the end of
 * the run whatever happens.
 */
export async function startServer(options: ServerOptions): Promise<Server> {
  const placement = options.placement ?? defaults.placement;
  const service = await spawnService({
    label: 'server',
    script: 'dist/src/main.js',
    env: (url) => ({
      ISSUER: url,
      LOG_LEVEL: 'warn',
      LOGIN_MAX_FAILURES_PER_IP: '1000000',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '10000',
      ...options.stores.env,
      ...options.env,
      ...defaults.env,
    }),
    placement,
    nodeArgs: defaults.nodeArgs,
    ready: { path: '/health/ready', status: 200 },
    readyTimeoutMs: options.readyTimeoutMs,
  });
  return {
    ...service,
    cli<T>(args: string[]): T {
      const r = spawnSync(process.execPath, ['dist/src/cli.js', ...args, '--json'], { cwd: ROOT, env: service.env, encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`cli ${args[0]} failed (${r.status ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}`);
      return JSON.parse(r.stdout) as T;
    },
  };
}

/** "<url> (pid <pid>, cores <cores>)": where a server runs, for the progress lines. */
export const serverInfo = (s: Server) => `${s.url} (pid ${s.pid}, cores ${s.cores})`;

export interface ServiceOptions {
  /** "server" or "peer", in messages. */
  label: string;
  /** The script node runs, relative to the repository root. */
  script: string;
  /**
   * Its environment besides what every service gets (PATH, HOME, NODE_ENV=production,
   * HOST=127.0.0.1 and PORT, a free loopback port), which it may override; given the service's URL.
   */
  env: (url: string) => NodeJS.ProcessEnv;
  placement: Placement;
  nodeArgs: string[];
  /** Ready when GET `path` answers `status`. */
  ready: { path: string; status: number };
  readyTimeoutMs?: number;
}

/**
 * Starts `node <script>` in its own process on a free loopback port (pinned when placement says so),
 * keeps the last 20 KB it prints, and waits until it is ready. The process is killed at the end of
 * the run whatever happens; one that dies mid-run (a crash, or dist/ rebuilt under it by another
 * build) says why.
 */
export async function spawnService(o: ServiceOptions): Promise<Omit<Server, 'cli'>> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    // The bench measures the embedded default too (no DATABASE_URL): production refuses it unless asked by name.
    EMBEDDED_DATABASE_IN_PRODUCTION: 'true',
    HOST: '127.0.0.1',
    PORT: String(port),
    ...o.env(url),
  };
  const [cmd, ...prefixArgs] = [...o.placement.serverPrefix, process.execPath];
  const child = spawn(cmd, [...prefixArgs, ...o.nodeArgs, o.script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let stopping = false;
  const stop = onCleanup(`stop ${o.label} pid ${child.pid}`, () => {
    stopping = true;
    return stopChild(child);
  });
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench: ${o.label} pid ${child.pid} (${url}) exited unexpectedly (${code ?? signal}); its last output:\n${out.slice(-3000)}\n`);
  });
  try {
    await new Promise<void>((done, fail) => {
      child.once('spawn', done);
      child.once('error', fail);
    });
    await waitReady(o.label, `${url}${o.ready.path}`, o.ready.status, child, o.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- ${o.label} output ---\n${out.slice(-4000)}`, { cause: err });
  }
  return { url, port, pid: child.pid!, cores: o.placement.serverCores, env, output: () => out, stop };
}

/** The extra node flags the runner gives every server (`--cpu-prof …` with --profile), for other processes a scenario starts. */
export function serverNodeArgs(): string[] {
  return [...defaults.nodeArgs];
}
