import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { DenylistSync } from '../../src/revocation/denylist-sync.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { authGet, basic, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { withRealRedis } from '../support/real-redis.js';
import { TcpProxy, redisTarget } from '../support/tcp-proxy.js';
import { deleteRedisKeys, startTestApp, testRedisPrefix, type TestApp } from '../support/test-app.js';

const sidOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).sid as string;

withRealRedis('revocation across two instances sharing PostgreSQL and Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let web: TestClient;
  let admin: Awaited<ReturnType<typeof createUser>>;
  let adminToken: string;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = { KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), REDIS_KEY_PREFIX: prefix };
    a = await startTestApp({ database: db, env: shared });
    b = await startTestApp({ database: db, env: { ...shared, ISSUER: a.config.issuer } });
    web = await createClient(a.app, { grants: ['password', 'refresh_token'] });
    admin = await createUser(a.app, { roles: ['admin'] });
    adminToken = (await login(a, web, admin)).access_token;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const post = (t: TestApp, path: string, token: string, body?: unknown) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('B refuses what A revoked on its very next request, every time (200 iterations)', async () => {
    const user = await createUser(a.app);
    const bystander = await login(b, web, await createUser(a.app));
    const refusedOnB: number[] = [];
    for (let i = 0; i < 200; i++) {
      const victim = await login(i % 2 ? a : b, web, user);
      expect((await authGet(b, '/userinfo', victim.access_token)).status).toBe(200);
      const kind = i % 3;
      let res: Response;
      if (kind === 0) res = await post(a, '/auth/logout', victim.access_token);
      else if (kind === 1) res = await post(a, `/admin/api/sessions/${sidOf(victim.access_token)}/revoke`, adminToken, { reason: `propagation test ${i}` });
      else
        res = await fetch(`${a.url}/oauth/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(web) },
          body: new URLSearchParams({ token: victim.access_token }),
        });
      expect(res.ok).toBe(true);
      let status = (await authGet(b, '/userinfo', victim.access_token)).status;
      // 503 is a refusal too (fail closed: Redis answered later than the command timeout on this
      // busy machine); the request after it must then say why: revoked.
      if (status === 503) status = (await authGet(b, '/userinfo', victim.access_token)).status === 401 ? 401 : 503;
      refusedOnB.push(status);
    }
    expect(refusedOnB.filter((s) => s !== 401)).toEqual([]);
    expect((await authGet(b, '/userinfo', bystander.access_token)).status).toBe(200);
  }, 120_000);

  it('a lock through A refuses every token of the user on B at once, and a login after the unlock passes', async () => {
    const user = await createUser(a.app);
    const tokens = [await login(a, web, user), await login(b, web, user)];
    expect((await post(a, `/admin/api/users/${user.id}/lock`, adminToken, { reason: 'compromised' })).status).toBe(200);
    for (const t of tokens) expect((await authGet(b, '/userinfo', t.access_token)).status).toBe(401);
    expect((await post(b, `/admin/api/users/${user.id}/unlock`, adminToken, { reason: 'cleared' })).status).toBe(200);
    const after = await login(b, web, user);
    expect((await authGet(a, '/userinfo', after.access_token)).status).toBe(200);
    for (const t of tokens) expect((await authGet(a, '/userinfo', t.access_token)).status).toBe(401);
  });
});

// The per-request MGET path (REVOCATION_CHECK=redis); the mirror's faults: revocation-mirror.e2e-spec.ts.
withRealRedis('Redis losing the denylist (REVOCATION_CHECK=redis)', () => {
  let t: TestApp;
  let web: TestClient;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    t = await startTestApp({ env: { REDIS_KEY_PREFIX: prefix, REVOCATION_CHECK: 'redis' } });
    web = await createClient(t.app, { grants: ['password', 'refresh_token'] });
  });
  afterAll(() => t?.close());

  it('refuses with 503, never 200, until the denylist is rebuilt from PostgreSQL; revoked tokens stay revoked', async () => {
    const user = await createUser(t.app);
    const revoked = await login(t, web, user);
    const live = await login(t, web, user);
    const revokedToo = await login(t, web, user);
    await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${revoked.access_token}` } });
    await fetch(`${t.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(web) },
      body: new URLSearchParams({ token: revokedToo.access_token }),
    });
    expect((await authGet(t, '/userinfo', revoked.access_token)).status).toBe(401);
    expect((await authGet(t, '/userinfo', revokedToo.access_token)).status).toBe(401);

    // Only the background poll could rebuild before our first request; keep it out of the way so
    // the test sees the window. The request path itself still triggers the rebuild.
    t.app.get(DenylistSync).onApplicationShutdown();
    await deleteRedisKeys(prefix);
    const redis = new Redis(process.env.REDIS_URL!);
    expect(await redis.keys(`*${prefix}*`)).toEqual([]);
    redis.disconnect();

    const first = await authGet(t, '/userinfo', live.access_token);
    expect(first.status).toBe(503);
    expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(first.body.code).toBe('REVOCATION_STATE_UNAVAILABLE');

    const seen: Record<string, number[]> = { revoked: [], revokedToo: [], live: [] };
    for (let i = 0; i < 200; i++) {
      seen.revoked.push((await authGet(t, '/userinfo', revoked.access_token)).status);
      seen.revokedToo.push((await authGet(t, '/userinfo', revokedToo.access_token)).status);
      const s = (await authGet(t, '/userinfo', live.access_token)).status;
      seen.live.push(s);
      if (s === 200) break;
    }
    expect(seen.revoked.filter((s) => s !== 503 && s !== 401)).toEqual([]);
    expect(seen.revokedToo.filter((s) => s !== 503 && s !== 401)).toEqual([]);
    expect(seen.live.at(-1)).toBe(200);
    expect(seen.live.filter((s) => s !== 503 && s !== 200)).toEqual([]);
    // Rebuilt: the revoked tokens are refused as revoked, not just unavailable.
    expect((await authGet(t, '/userinfo', revoked.access_token)).headers.get('www-authenticate')).toMatch(/token revoked/);
    expect((await authGet(t, '/userinfo', revokedToo.access_token)).status).toBe(401);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
  }, 60_000);
});

withRealRedis('Redis unreachable or hung (REVOCATION_CHECK=redis)', () => {
  let t: TestApp;
  let web: TestClient;
  let proxy: TcpProxy;
  const timeoutMs = 150;

  beforeAll(async () => {
    const target = redisTarget();
    proxy = new TcpProxy(target.host, target.port);
    const port = await proxy.start();
    t = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: String(timeoutMs), REVOCATION_CHECK: 'redis' } });
    web = await createClient(t.app, { grants: ['password', 'refresh_token'] });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.cut();
  });

  /** A request that must complete (not hang): the client gives up after 10 s, far beyond the command timeout. */
  const timed = async (token: string) => {
    const res = await fetch(`${t.url}/userinfo`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  it('fails closed with 503 problem+json when Redis hangs, within the command timeout, and is not ready', async () => {
    const user = await createUser(t.app);
    const tokens = await login(t, web, user);
    expect((await authGet(t, '/userinfo', tokens.access_token)).status).toBe(200);

    proxy.stall();
    const r = await timed(tokens.access_token);
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('REVOCATION_STATE_UNAVAILABLE');
    expect(r.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);
    proxy.resume();
  });

  it('fails closed with 503 when Redis is gone, and recovers when it is back', async () => {
    const user = await createUser(t.app);
    const tokens = await login(t, web, user);
    await proxy.cut();
    const r = await timed(tokens.access_token);
    expect(r.status).toBe(503);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);
    await proxy.restore();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 100));
      status = (await authGet(t, '/userinfo', tokens.access_token)).status;
    }
    expect(status).toBe(200);
  }, 30_000);

  it('when the denylist write fails after the commit, the call fails, and the revocation still takes effect', async () => {
    const user = await createUser(t.app);
    const tokens = await login(t, web, user);
    await proxy.cut();
    const logout = await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    // The guard itself cannot read the denylist, so the call is refused before it revokes anything;
    // revoke the session the way an operator would instead: through the service, as the admin API does.
    expect(logout.status).toBe(503);
    const { RevocationService } = await import('../../src/revocation/revocation.service.js');
    await expect(
      t.app.get(RevocationService).revokeSession(sidOf(tokens.access_token), { actorType: 'system', actorId: null, reason: 'test' }),
    ).rejects.toMatchObject({ code: 'REVOCATION_NOT_PROPAGATED', status: 503 });
    await proxy.restore();
    // Committed in PostgreSQL: the sync applies it; the token never passes.
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const s = (await authGet(t, '/userinfo', tokens.access_token)).status;
      statuses.push(s);
      if (s === 401) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(statuses.at(-1)).toBe(401);
    expect(statuses.filter((s) => s === 200)).toEqual([]);
  }, 30_000);
});
