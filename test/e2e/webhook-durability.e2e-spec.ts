import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createClient, createUser, login } from '../support/fixtures.js';
import { cleanEnv, runCli, type Service, startService, waitFor } from '../support/processes.js';
import { type StaffApi, staffApi } from '../support/staff-api.js';
import { deleteRedisKeys, freePort, startTestApp, testRedisPrefix, type TestApp } from '../support/test-app.js';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.js';

const ADMIN = { email: 'crash-admin@example.com', password: 'a long enough passphrase' };

/**
 * Nothing lost, nothing invented: an event whose revocation committed is delivered even when the
 * process that wrote it is killed at once; a revocation whose transaction fails sends nothing.
 */
describe('webhook durability: the service is killed with SIGKILL right after a revoke call returns', () => {
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let port: number;
  const prefix = testRedisPrefix();
  const rx = new WebhookReceiver();
  const services: Service[] = [];

  const start = async (worker: boolean) => {
    const s = startService({ ...env, WEBHOOK_WORKER: String(worker) });
    services.push(s);
    if (!(await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, 60_000))) throw new Error(`service did not start:\n${s.output()}`);
    return s;
  };
  const kill = (s: Service) => new Promise<void>((done) => (s.child.once('exit', () => done()), s.child.kill('SIGKILL')));
  const api = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  /** Logs the admin in through the running service, creates a user, and locks it; answers when the lock returned. */
  const lockThroughService = async (clientId: string, clientSecret: string) => lockWith(await adminToken(clientId, clientSecret));
  const adminToken = async (clientId: string, clientSecret: string) => {
    const tokenRes = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'password', username: ADMIN.email, password: ADMIN.password }),
    });
    const granted = (await tokenRes.json()) as { access_token: string };
    expect({ status: tokenRes.status, body: tokenRes.status === 200 ? null : granted }).toEqual({ status: 200, body: null });
    return granted.access_token;
  };
  const lockWith = async (token: string) => {
    const victim = await api('POST', '/admin/api/users', token, { reason: 'crash test', email: `victim-${randomBytes(4).toString('hex')}@example.com`, password: ADMIN.password });
    expect({ status: victim.status, body: victim.status === 201 ? null : victim.body }).toEqual({ status: 201, body: null });
    const locked = await api('POST', `/admin/api/users/${victim.body.id}/lock`, token, { reason: 'locked just before the crash' });
    expect(locked.status).toBe(200);
    return victim.body.id as string;
  };

  let client: { client_id: string; client_secret: string };

  beforeAll(async () => {
    db = await createTestDatabase();
    port = await freePort();
    await rx.start();
    env = cleanEnv({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      ISSUER: `http://127.0.0.1:${port}`,
      DATABASE_URL: db.url,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: prefix } : {}),
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    const created = runCli(['webhook:create', '--url', rx.url, '--event', 'user.locked', '--json'], env);
    expect(created.status).toBe(0);
    rx.secrets = [JSON.parse(created.stdout).secret];
    const c = runCli(['client:create', '--name', 'crash test', '--type', 'confidential', '--grant', 'password', '--json'], env);
    expect(c.status).toBe(0);
    const out = JSON.parse(c.stdout);
    client = { client_id: out.client.client_id, client_secret: out.client_secret };
  });

  afterAll(async () => {
    for (const s of services) await s.stop();
    await rx.stop();
    await db.drop();
    await deleteRedisKeys(prefix);
  });

  it('delivers after a restart the event of a lock whose process died before any worker saw it', async () => {
    // The API instance delivers nothing itself (its workers run elsewhere): the event can only
    // reach the receiver through what the lock's transaction committed.
    const api1 = await start(false);
    const victim = await lockThroughService(client.client_id, client.client_secret);
    await kill(api1);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toEqual([]);

    const api2 = await start(true);
    const [got] = await rx.waitFor((r) => r.body.data.subject.id === victim, 1, 15_000);
    expect(got.verified).toEqual([true]);
    expect(got.body).toMatchObject({ type: 'user.locked', data: { reason: 'locked just before the crash' } });
    await api2.stop();
  });

  it('delivers after a restart when the killed process ran the worker itself (at least once, same webhook-id)', async () => {
    const api1 = await start(true);
    const victim = await lockThroughService(client.client_id, client.client_secret);
    await kill(api1);
    await start(true);
    // An attempt that was in flight is made again once its job expires (the timeout plus 5 s).
    const got = await rx.waitFor((r) => r.body.data.subject.id === victim, 1, 40_000);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(got.every((r) => r.verified[0])).toBe(true);
  }, 60_000);

  it('is delivered by standalone workers (npm run start:worker), two at once, each event exactly once', async () => {
    const workers = [0, 1].map(() => {
      const w = spawn(process.execPath, ['dist/src/worker.js'], { env: { ...env, PORT: '', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      w.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      w.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      return { w, output: () => out };
    });
    try {
      await start(false);
      for (const { output } of workers) await eventually(async () => /webhook worker running/.test(output()), 30_000, 'a worker to start');
      rx.received.length = 0;
      const token = await adminToken(client.client_id, client.client_secret);
      const victims = await Promise.all(Array.from({ length: 10 }, () => lockWith(token)));
      const got = await rx.waitFor((r) => victims.includes(r.body.data.subject.id), victims.length, 20_000);
      await new Promise((r) => setTimeout(r, 1000));
      const mine = rx.received.filter((r) => victims.includes(r.body.data.subject.id));
      expect(mine).toHaveLength(victims.length);
      expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(victims.length);
    } finally {
      for (const { w } of workers) if (w.exitCode === null) await new Promise((done) => (w.once('exit', done), w.kill('SIGTERM')));
    }
  }, 60_000);
});

/** The database refuses, at commit, any webhook event whose reason is REFUSED: after the event, its deliveries and their jobs were written. */
const REFUSED = 'the database refuses this commit';

describe('webhook durability: a revocation whose transaction fails', () => {
  let t: TestApp;
  let api: StaffApi;
  let ds: DataSource;
  const rx = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    ds = t.app.get(DataSource);
    await ds.query(`CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.body->'data'->>'reason' = '${REFUSED}' THEN RAISE EXCEPTION 'event refused by the test'; END IF; RETURN NULL; END $$`);
    await ds.query(`CREATE CONSTRAINT TRIGGER refuse_event AFTER INSERT ON webhook_events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_event()`);
    api = await staffApi(t);
    await rx.start();
    const sub = await api.call('POST', '/admin/api/webhooks', { reason: 'durability', url: rx.url });
    rx.secrets = [sub.body.secret];
  });
  afterAll(async () => {
    await t?.close();
    await rx.stop();
  });

  it('emits nothing: no event, no delivery, no job, no request; the revocation itself did not happen', async () => {
    const web = await createClient(t.app);
    const victim = await createUser(t.app);
    const session = await login(t, web, victim);
    const jobsBefore = await ds.query(`SELECT count(*)::int AS n FROM pgboss.job`);

    const failed = await api.call('POST', `/admin/api/users/${victim.id}/lock`, { reason: REFUSED });
    expect(failed.status).toBe(500);
    expect((await ds.query(`SELECT count(*)::int AS n FROM webhook_events WHERE body->'data'->>'reason' = $1`, [REFUSED]))[0].n).toBe(0);
    expect((await ds.query(`SELECT count(*)::int AS n FROM webhook_deliveries`))[0].n).toBe(0);
    expect(await ds.query(`SELECT count(*)::int AS n FROM pgboss.job`)).toEqual(jobsBefore);
    expect((await fetch(`${t.url}/userinfo`, { headers: { authorization: `Bearer ${session.access_token}` } })).status).toBe(200);

    // The next lock, with a reason the database takes, is delivered; the refused one never was.
    const ok = await api.call('POST', `/admin/api/users/${victim.id}/lock`, { reason: 'fine' });
    expect(ok.status).toBe(200);
    await rx.waitFor((r) => r.body.type === 'user.locked');
    expect(rx.received.map((r) => r.body.data.reason)).toEqual(['fine']);
    expect(rx.received[0].body.data.sequence).toBe(1);
  });
});
