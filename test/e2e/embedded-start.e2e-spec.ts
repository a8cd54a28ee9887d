import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { cleanEnv, exitOf, runCli, startService, waitFor } from '../support/processes.js';
import { freePort } from '../support/test-app.js';

/**
 * The quick start on a machine with nothing set: the service as `npm start` runs it. The waits are
 * generous because other suites share the machine; .ci/run times the 15-second start on its own.
 */
describe('the embedded default (no DATABASE_URL, no REDIS_URL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves on embedded PGlite, keeps a CLI-created user across a restart', async () => {
    const port = await freePort();
    const env = cleanEnv({ PORT: String(port), DATA_DIR: dataDir });

    const first = startService({ ...env, LOG_LEVEL: 'debug' });
    let firstExit: number | null;
    try {
      expect(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000)).toBe(true);
      expect(first.output()).toMatch(/embedded PGlite/);
      expect(first.output()).toMatch(/revocation store: in-process/);

      // The CLI joins the running service's embedded server rather than opening the files twice.
      const created = runCli(['user:create', '--email', 'Ops@Example.com', '--password', 'a long enough passphrase', '--role', 'admin', '--json'], env);
      expect(created.stderr).toBe('');
      expect(created.status).toBe(0);
      expect(JSON.parse(created.stdout).user).toMatchObject({ email: 'ops@example.com', roles: ['admin'] });

      // Secrets never reach the log, even at debug level where every request is logged.
      const client = JSON.parse(runCli(['client:create', '--name', 'console', '--type', 'confidential', '--grant', 'password', '--json'], env).stdout);
      const tokenRes = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client.client_id}:${client.client_secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'password', username: 'ops@example.com', password: 'a long enough passphrase' }),
      });
      expect(tokenRes.status).toBe(200);
      const tokens = (await tokenRes.json()) as { access_token: string; refresh_token: string };
      expect((await fetch(`http://127.0.0.1:${port}/userinfo?access_token=${tokens.access_token}`, { headers: { authorization: `Bearer ${tokens.access_token}`, cookie: 'session=cookie-secret' } })).status).toBe(200);
      await fetch(`http://127.0.0.1:${port}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=password&password=wrong-secret-guess&client_id=x` });
      await new Promise((r) => setTimeout(r, 300));
      const log = first.output();
      expect(log).toMatch(/request completed/);
      for (const secret of ['a long enough passphrase', 'wrong-secret-guess', client.client_secret, tokens.access_token, tokens.refresh_token, 'cookie-secret']) {
        expect(log).not.toContain(secret);
      }
    } finally {
      firstExit = await first.stop();
    }
    expect(firstExit).toBe(0);
    expect(first.output()).not.toContain('a long enough passphrase');

    const second = startService(env);
    try {
      expect(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000)).toBe(true);
      const listed = runCli(['user:list', '--json'], env);
      expect(listed.status).toBe(0);
      expect(JSON.parse(listed.stdout).users.map((u: { email: string }) => u.email)).toEqual(['ops@example.com']);
    } finally {
      await second.stop();
    }

    // With the service stopped, the CLI opens the data directory itself.
    const offline = runCli(['user:list'], env);
    expect(offline.status).toBe(0);
    expect(offline.stdout).toContain('ops@example.com');
  }, 180_000);

  it('refuses an existing or malformed email with exit 2, a one-line reason, and no change', () => {
    const env = cleanEnv({ DATA_DIR: dataDir });
    for (const [email, reason] of [
      ['OPS@example.com', /already exists/],
      ['not-an-email', /not a valid email/],
    ] as const) {
      const r = runCli(['user:create', '--email', email, '--password', 'another long passphrase'], env);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(reason);
    }
    const listed = runCli(['user:list', '--json'], env);
    expect(JSON.parse(listed.stdout).users).toHaveLength(1);
  }, 60_000);
});

/** The TCP ports a process listens on, from /proc (Linux): its socket inodes against /proc/net/tcp{,6}. */
function tcpListenPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** As another user (nobody), try to connect to the socket and to read a data file: the error codes. */
function asNobody(socketPath: string, file: string): string {
  const script = `const net = require('node:net'), fs = require('node:fs');
    let read; try { fs.readFileSync(${JSON.stringify(file)}); read = 'read'; } catch (e) { read = e.code; }
    const s = net.connect(${JSON.stringify(socketPath)});
    s.once('connect', () => { console.log(read + ' connected'); s.destroy(); });
    s.once('error', (e) => console.log(read + ' ' + e.code));`;
  // This run's Node may live where nobody cannot reach it (CI installs Node 24 under root's cache):
  // any Node that user can run will do for a socket connect and a file read.
  for (const node of [process.execPath, '/usr/bin/node', '/usr/local/bin/node']) {
    const r = spawnSync(node, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000, cwd: '/' });
    if (!r.error && r.status === 0) return r.stdout.trim();
  }
  throw new Error('no Node binary that the user nobody can run');
}

describe('the embedded database is open to the service user only (no TCP port)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-socket-'));
  const socketPath = join(dataDir, '.s.PGSQL.5432');
  const stateFile = join(dataDir, 'embedded-postgres.json');
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves PostgreSQL on a 0600 socket in a 0700 DATA_DIR, names it in the state file and the log, listens on no TCP port for it', async () => {
    // A directory others may enter, and a leftover file where the socket goes: neither stops the start.
    chmodSync(dataDir, 0o755);
    writeFileSync(socketPath, 'left over');
    const port = await freePort();
    const env = cleanEnv({ PORT: String(port), DATA_DIR: dataDir });
    const service = startService(env);
    try {
      expect(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000)).toBe(true);

      const state = JSON.parse(readFileSync(stateFile, 'utf8'));
      expect(state).toEqual({ pid: service.child.pid, socket: socketPath });
      expect(state.port).toBeUndefined();
      const socket = lstatSync(socketPath);
      expect(socket.isSocket()).toBe(true);
      expect(socket.mode & 0o777).toBe(0o600);
      expect(socket.uid).toBe(process.getuid!());
      const dir = statSync(dataDir);
      expect(dir.mode & 0o777).toBe(0o700);
      expect(dir.uid).toBe(process.getuid!());
      const messages = service.output().split('\n').flatMap((line) => {
        try {
          return [String(JSON.parse(line).msg)];
        } catch {
          return [];
        }
      });
      expect(messages.join('\n')).toContain(`Unix socket ${socketPath} only`);
      expect(messages.join('\n')).toContain(`connect with: psql "host=${dataDir} user=postgres dbname=postgres"`);

      // The only TCP port the service listens on is its HTTP port.
      if (process.platform === 'linux') expect(tcpListenPorts(service.child.pid!)).toEqual([port]);

      // The path is real: this user reaches the service's own database through it.
      const client = new pg.Client({ host: dataDir, port: 5432, user: 'postgres', database: 'postgres' });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM typeorm_migrations');
        expect(rows[0].n).toBeGreaterThan(0);
      } finally {
        await client.end();
      }

      // Another local user can neither connect nor read the data files (only testable as root).
      if (process.getuid!() === 0) expect(asNobody(socketPath, join(dataDir, 'pgdata', 'PG_VERSION'))).toBe('EACCES EACCES');

      const listed = runCli(['user:list', '--json'], env);
      expect(listed.stderr).toBe('');
      expect(listed.status).toBe(0);
    } finally {
      expect(await service.stop()).toBe(0);
    }
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  }, 120_000);

  it('starts again over the socket and state file of a killed service; the CLI then works with and without it', async () => {
    const port = await freePort();
    const env = cleanEnv({ PORT: String(port), DATA_DIR: dataDir });
    const killed = startService(env);
    expect(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000)).toBe(true);
    await new Promise((done) => (killed.child.once('exit', done), killed.child.kill('SIGKILL')));
    expect(lstatSync(socketPath).isSocket()).toBe(true);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).pid).toBe(killed.child.pid);

    const next = startService(env);
    try {
      expect(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000)).toBe(true);
      expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ pid: next.child.pid, socket: socketPath });
      const created = runCli(['user:create', '--email', 'after-kill@example.com', '--password', 'a long enough passphrase', '--json'], env);
      expect(created.stderr).toBe('');
      expect(created.status).toBe(0);
    } finally {
      expect(await next.stop()).toBe(0);
    }

    // The CLI alone serves the directory on the socket while it runs, and leaves nothing behind.
    const offline = runCli(['user:list'], env);
    expect(offline.status).toBe(0);
    expect(offline.stdout).toContain('after-kill@example.com');
    expect(existsSync(socketPath)).toBe(false);
    expect(existsSync(stateFile)).toBe(false);
  }, 180_000);
});

describe('a bad configuration stops the start', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ ACCESS_TOKEN_TTL: '10y' }, 'ACCESS_TOKEN_TTL'],
    [{ NODE_ENV: 'production', ISSUER: 'http://id.example.com', KEY_ENCRYPTION_KEY: 'A'.repeat(43) }, 'ISSUER'],
    [{ NODE_ENV: 'production', ISSUER: 'https://id.example.com' }, 'KEY_ENCRYPTION_KEY'],
    [{ NODE_ENV: 'production', ISSUER: 'https://id.example.com', KEY_ENCRYPTION_KEY: 'A'.repeat(43) }, 'DATABASE_URL'],
    [{ ADMIN_EMAIL: 'root@example.com' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'password123' }, 'ADMIN_PASSWORD'],
  ])('%j exits 1 with one line naming %s', (vars, name) => {
    const r = exitOf(['dist/src/main.js'], cleanEnv({ DATA_DIR: '/nonexistent/never-created', ...vars }));
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${name}\\b`));
    expect(lines[0]).not.toContain('password123');
  });
});

describe('the CLI refuses a bad configuration as the service does', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'password123' }, 'ADMIN_PASSWORD'],
  ])('%j exits 2 with one line naming %s, before touching any database', (vars, name) => {
    const r = exitOf(['dist/src/cli.js', 'user:list'], cleanEnv({ DATA_DIR: '/nonexistent/never-created', ...vars }));
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${name}\\b`));
    expect(lines[0]).not.toContain('password123');
  });
});

describe('a KEY_ENCRYPTION_KEY that does not open the stored signing keys', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-kek-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stops the start with one line that names KEY_ENCRYPTION_KEY and says what to do', async () => {
    const port = await freePort();
    const first = startService(cleanEnv({ PORT: String(port), DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: 'A'.repeat(43) }));
    try {
      expect(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000)).toBe(true);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const r = exitOf(['dist/src/main.js'], cleanEnv({ PORT: String(port), DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: 'B'.repeat(43) }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/KEY_ENCRYPTION_KEY does not decrypt the signing keys stored in the database: it was changed or is wrong\. Set it back/);
    expect(r.stderr).not.toMatch(/Unsupported state/);
    expect(r.stderr).not.toContain('B'.repeat(43));
  });
});
