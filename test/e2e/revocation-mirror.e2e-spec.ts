import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { authGet, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { cleanEnv, startService, type Service, waitFor } from '../support/processes.js';
import { withRealRedis } from '../support/real-redis.js';
import { TcpProxy, redisTarget } from '../support/tcp-proxy.js';
import { deleteRedisKeys, freePort, startTestApp, testRedisPrefix, type TestApp } from '../support/test-app.js';

/** The defaults, written out: a revoke call answers within ACK_TIMEOUT_MS (plus its own work). */
const LEASE_MS = 1000;
const ACK_TIMEOUT_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The denylist mirror under faults: an instance cut off from Redis (connection refused, or
 * black-holed), one whose event loop stops for longer than its lease, a new instance, and Redis
 * losing its data. In every case a token whose revoke call answered 2xx is never accepted again by
 * any instance, and the revoke call answers 2xx or 503 within its bound, never hangs.
 */
withRealRedis('the denylist mirror when an instance cannot hear Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let c: TestApp | undefined;
  let proxy: TcpProxy;
  let web: TestClient;
  const prefix = testRedisPrefix();
  const keyEncryptionKey = randomBytes(32).toString('base64');

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = { KEY_ENCRYPTION_KEY: keyEncryptionKey, REDIS_KEY_PREFIX: prefix, REVOCATION_LEASE_MS: String(LEASE_MS), REVOCATION_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS) };
    a = await startTestApp({ database: db, env });
    const target = redisTarget();
    proxy = new TcpProxy(target.host, target.port);
    const port = await proxy.start();
    // B reaches Redis only through the proxy; its commands time out fast, as in production.
    b = await startTestApp({ database: db, env: { ...env, ISSUER: a.config.issuer, REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '200' } });
    web = await createClient(a.app, { grants: ['password', 'refresh_token'] });
  });
  afterAll(async () => {
    await c?.app.close();
    await a?.close();
    await b?.close();
    await proxy?.cut();
    await db?.drop();
  });

  /** Logs in through A; B accepts the token (both are in step). */
  async function freshToken() {
    const user = await createUser(a.app);
    const tokens = await login(a, web, user);
    return { user, tokens };
  }

  /** Revokes the token's session through A, timing the call. */
  async function logoutThroughA(accessToken: string) {
    const started = performance.now();
    const res = await fetch(`${a.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, ms: performance.now() - started };
  }

  /** What B answers for the token, over `ms`. */
  async function watchB(token: string, ms: number): Promise<number[]> {
    const seen: number[] = [];
    const until = performance.now() + ms;
    while (performance.now() < until) {
      seen.push((await authGet(b, '/userinfo', token)).status);
      await sleep(25);
    }
    return seen;
  }

  /** Once B is back in step: a fresh token passes on B, and the revoked one is refused as revoked. */
  async function expectRecovered(revoked: string) {
    const { tokens } = await freshToken();
    const until = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < until && (status = (await authGet(b, '/userinfo', tokens.access_token)).status) !== 200) await sleep(50);
    expect(status).toBe(200);
    const again = await authGet(b, '/userinfo', revoked);
    expect(again.status).toBe(401);
    expect(again.headers.get('www-authenticate')).toMatch(/revoked/);
  }

  it.each([
    ['refuses connections (cut)', () => proxy.cut(), () => proxy.restore()],
    ['black-holes them (stalled)', () => Promise.resolve(proxy.stall()), () => Promise.resolve(proxy.resume())],
  ])('never accepts a token revoked while its link to Redis %s; the revoke call answers within its bound', async (_what, fault, heal) => {
    const { tokens } = await freshToken();
    expect((await authGet(b, '/userinfo', tokens.access_token)).status).toBe(200);
    await fault();
    const revoke = await logoutThroughA(tokens.access_token);
    expect([204, 503]).toContain(revoke.status);
    expect(revoke.ms).toBeLessThan(ACK_TIMEOUT_MS + 1000);
    if (revoke.status === 204) {
      // Answered 2xx: B no longer accepts it, from the first request on.
      expect((await watchB(tokens.access_token, 1500)).filter((s) => s === 200)).toEqual([]);
    }
    // Either way, B cut off from Redis stops accepting anything within its lease: it cannot know.
    await sleep(LEASE_MS);
    expect((await authGet(b, '/userinfo', tokens.access_token)).status).toBe(503);
    expect((await fetch(`${b.url}/health/ready`)).status).toBe(503);
    await heal();
    await expectRecovered(tokens.access_token);
  }, 60_000);

  it('a new instance started after some revocations refuses them from its first answer', async () => {
    const { tokens } = await freshToken();
    expect((await logoutThroughA(tokens.access_token)).status).toBe(204);
    // Closed with the others (passport's strategies are process-wide: the newest app's serve them all).
    c = await startTestApp({ database: db, env: { KEY_ENCRYPTION_KEY: keyEncryptionKey, REDIS_KEY_PREFIX: prefix, ISSUER: a.config.issuer } });
    const first = await authGet(c, '/userinfo', tokens.access_token);
    expect(first.status).toBe(401);
    expect((await fetch(`${c.url}/health/ready`)).status).toBe(200);
  });

  it('keeps refusing revoked tokens when Redis loses its data, and accepts live ones again once rebuilt', async () => {
    const { user, tokens: revoked } = await freshToken();
    const live = await login(a, web, user);
    expect((await logoutThroughA(revoked.access_token)).status).toBe(204);
    await deleteRedisKeys(prefix);
    const seen = { revoked: [] as number[], live: [] as number[] };
    for (let i = 0; i < 200; i++) {
      seen.revoked.push((await authGet(a, '/userinfo', revoked.access_token)).status, (await authGet(b, '/userinfo', revoked.access_token)).status);
      const s = [(await authGet(a, '/userinfo', live.access_token)).status, (await authGet(b, '/userinfo', live.access_token)).status];
      seen.live.push(...s);
      if (s.every((x) => x === 200) && i > 5) break;
      await sleep(25);
    }
    expect(seen.revoked.filter((s) => s === 200)).toEqual([]);
    expect(seen.live.slice(-2)).toEqual([200, 200]);
  }, 60_000);
});

/**
 * An instance whose event loop stops (here: the whole process, SIGSTOP) for longer than its lease:
 * the others stop waiting for it, and when it wakes it accepts nothing until it has caught up.
 */
withRealRedis('the denylist mirror when an instance stops for longer than its lease', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: Service;
  let bUrl: string;
  let web: TestClient;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    const keyEncryptionKey = randomBytes(32).toString('base64');
    a = await startTestApp({ database: db, env: { KEY_ENCRYPTION_KEY: keyEncryptionKey, REDIS_KEY_PREFIX: prefix } });
    const port = await freePort();
    bUrl = `http://127.0.0.1:${port}`;
    b = startService(cleanEnv({ DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL!, REDIS_KEY_PREFIX: prefix, KEY_ENCRYPTION_KEY: keyEncryptionKey, PORT: String(port), HOST: '127.0.0.1', ISSUER: a.config.issuer, LOG_LEVEL: 'warn', RETENTION_INTERVAL: 'off' }));
    if (!(await waitFor(`${bUrl}/health/ready`, 200, 30_000))) throw new Error(`B did not start: ${b.output()}`);
    web = await createClient(a.app, { grants: ['password', 'refresh_token'] });
  }, 60_000);
  afterAll(async () => {
    b?.child.kill('SIGCONT');
    await b?.stop();
    await a?.close();
    await db?.drop();
  });

  const onB = (token: string) => fetch(`${bUrl}/userinfo`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) }).then((r) => r.status);

  it('does not accept a token revoked while it was stopped, once it wakes up', async () => {
    const user = await createUser(a.app);
    const tokens = await login(a, web, user);
    expect(await onB(tokens.access_token)).toBe(200);
    b.child.kill('SIGSTOP');
    try {
      const started = performance.now();
      const res = await fetch(`${a.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` }, signal: AbortSignal.timeout(10_000) });
      // A waited for B until B's lease lapsed, then answered 2xx: B is not counted any more.
      expect(res.status).toBe(204);
      expect(performance.now() - started).toBeLessThan(ACK_TIMEOUT_MS + 1000);
      await sleep(500);
    } finally {
      b.child.kill('SIGCONT');
    }
    // The first answer after waking, and every one after, refuses the token.
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) seen.push(await onB(tokens.access_token));
    expect(seen.filter((s) => s === 200)).toEqual([]);
    const until = Date.now() + 15_000;
    while (Date.now() < until && (await onB(tokens.access_token)) !== 401) await sleep(50);
    expect(await onB(tokens.access_token)).toBe(401);
    expect(await onB((await login(a, web, user)).access_token)).toBe(200);
  }, 60_000);
});
