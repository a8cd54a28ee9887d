import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('a bad configuration stops the start', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ ACCESS_TOKEN_TTL: '10y' }, 'ACCESS_TOKEN_TTL'],
    [{ NODE_ENV: 'production', ISSUER: 'http://id.example.com', KEY_ENCRYPTION_KEY: 'A'.repeat(43) }, 'ISSUER'],
    [{ NODE_ENV: 'production', ISSUER: 'https://id.example.com' }, 'KEY_ENCRYPTION_KEY'],
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
