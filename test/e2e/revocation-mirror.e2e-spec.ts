import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { authGet, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { cleanEnv, startService, type Service, waitFor } from '../support/processes.js';
import { spawnSync } from 'node:child_process';
import { withRealRedis } from '../support/real-redis.js';
import { canStartCluster, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { TcpProxy, redisTarget } from '../support/tcp-proxy.js';
import { deleteRedisKeys, freePort, startTestApp, testRedisPrefix, type TestApp } from '../support/test-app.js';

/** Where the suites run: the shared Redis server, or a Redis Cluster of three masters they start. */
interface Target {
  /** The REDIS_URL of an instance that reaches Redis directly. */
  url(): string;
  /** An instance's environment that reaches Redis only through proxies (one per node), and the proxies. */
  proxied(): Promise<{ env: Record<string, string>; proxies: TcpProxy[] }>;
  /** Redis loses every key of the prefix (a flush, a restart without persistence). */
  loseData(prefix: string): Promise<void>;
}

const singleServer: Target = {
  url: () => process.env.REDIS_URL!,
  async proxied() {
    const target = redisTarget();
    const proxy = new TcpProxy(target.host, target.port);
    const port = await proxy.start();
    return { env: { REDIS_URL: `redis://127.0.0.1:${port}` }, proxies: [proxy] };
  },
  loseData: (prefix) => deleteRedisKeys(prefix),
};

/**
 * The suites below, on a Redis Cluster this file starts on loopback ports (REDIS_URL=redis-cluster://...).
 * The proxied instance reaches every node through its own proxy: its seed is the first node's proxy,
 * and REDIS_CLUSTER_NAT_MAP maps each address the nodes announce to that node's proxy.
 */
function clusterTarget(cluster: () => RedisCluster): Target {
  return {
    url: () => cluster().url,
    async proxied() {
      const proxies = cluster().ports.map((port) => new TcpProxy('127.0.0.1', port));
      const ports = await Promise.all(proxies.map((p) => p.start()));
      const natMap = cluster().ports.map((port, i) => `127.0.0.1:${port}=127.0.0.1:${ports[i]}`).join(',');
      return { env: { REDIS_URL: `redis-cluster://127.0.0.1:${ports[0]}`, REDIS_CLUSTER_NAT_MAP: natMap }, proxies };
    },
    async loseData() {
      for (const port of cluster().ports) spawnSync('redis-cli', ['-p', String(port), 'flushall']);
    },
  };
}

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
function cannotHearRedis(target: Target) {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let c: TestApp | undefined;
  let proxies: TcpProxy[] = [];
  let web: TestClient;
  const prefix = testRedisPrefix();
  const keyEncryptionKey = randomBytes(32).toString('base64');
  const env = () => ({ KEY_ENCRYPTION_KEY: keyEncryptionKey, REDIS_URL: target.url(), REDIS_KEY_PREFIX: prefix, REVOCATION_LEASE_MS: String(LEASE_MS), REVOCATION_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS) });

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await startTestApp({ database: db, env: env() });
    const proxied = await target.proxied();
    proxies = proxied.proxies;
    // B reaches Redis only through the proxies; its commands time out fast, as in production.
    b = await startTestApp({ database: db, env: { ...env(), ...proxied.env, ISSUER: a.config.issuer, REDIS_COMMAND_TIMEOUT_MS: '200' } });
    web = await createClient(a.app, { grants: ['password', 'refresh_token'] });
  }, 60_000);
  afterAll(async () => {
    await c?.app.close();
    await a?.close();
    await b?.close();
    for (const proxy of proxies) await proxy.cut();
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

  it('refuses on B what A revoked, from B\u2019s first answer after the call (50 times)', async () => {
    for (let i = 0; i < 50; i++) {
      const { tokens } = await freshToken();
      expect((await authGet(b, '/userinfo', tokens.access_token)).status).toBe(200);
      expect((await logoutThroughA(tokens.access_token)).status).toBe(204);
      expect((await authGet(b, '/userinfo', tokens.access_token)).status).toBe(401);
    }
  }, 60_000);

  it('serves a request that came while its heartbeat was late (the process stalled) once it is back in step, not 503', async () => {
    const { tokens } = await freshToken();
    expect((await authGet(b, '/userinfo', tokens.access_token)).status).toBe(200);
    // The request is on B's socket before this process (B's too) stalls for longer than B accepts
    // past a heartbeat (its lease minus its margin), though not for its whole lease.
    const socket = connect(Number(new URL(b.url).port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = once(socket, 'close');
    socket.write(`GET /userinfo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens.access_token}\r\nConnection: close\r\n\r\n`);
    // B accepts up to 70% of a lease past its last heartbeat's read: 75% is past that, with room
    // left before the lease itself lapses in Redis.
    const stalled = performance.now() + LEASE_MS * 0.75;
    while (performance.now() < stalled);
    await closed;
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
  });

  it.each([
    ['refuses connections (cut)', () => Promise.all(proxies.map((p) => p.cut())), () => Promise.all(proxies.map((p) => p.restore()))],
    ['black-holes them (stalled)', async () => proxies.forEach((p) => p.stall()), async () => proxies.forEach((p) => p.resume())],
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
    c = await startTestApp({ database: db, env: { ...env(), ISSUER: a.config.issuer } });
    const first = await authGet(c, '/userinfo', tokens.access_token);
    expect(first.status).toBe(401);
    expect((await fetch(`${c.url}/health/ready`)).status).toBe(200);
  });

  it('keeps refusing revoked tokens when Redis loses its data, and accepts live ones again once rebuilt', async () => {
    const { user, tokens: revoked } = await freshToken();
    const live = await login(a, web, user);
    expect((await logoutThroughA(revoked.access_token)).status).toBe(204);
    await target.loseData(prefix);
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
}

/**
 * An instance whose event loop stops (here: the whole process, SIGSTOP) for longer than its lease:
 * the others stop waiting for it, and when it wakes it accepts nothing until it has caught up.
 */
function stopsLongerThanLease(target: Target) {
  let db: TestDatabase;
  let a: TestApp;
  let b: Service;
  let bUrl: string;
  let web: TestClient;
  const prefix = testRedisPrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    const keyEncryptionKey = randomBytes(32).toString('base64');
    a = await startTestApp({ database: db, env: { KEY_ENCRYPTION_KEY: keyEncryptionKey, REDIS_URL: target.url(), REDIS_KEY_PREFIX: prefix } });
    const port = await freePort();
    bUrl = `http://127.0.0.1:${port}`;
    b = startService(cleanEnv({ DATABASE_URL: db.url, REDIS_URL: target.url(), REDIS_KEY_PREFIX: prefix, KEY_ENCRYPTION_KEY: keyEncryptionKey, PORT: String(port), HOST: '127.0.0.1', ISSUER: a.config.issuer, LOG_LEVEL: 'warn', RETENTION_INTERVAL: 'off' }));
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
}

withRealRedis('the denylist mirror when an instance cannot hear Redis', () => cannotHearRedis(singleServer));
withRealRedis('the denylist mirror when an instance stops for longer than its lease', () => stopsLongerThanLease(singleServer));

/** The same suites on a Redis Cluster of three masters, through ioredis's cluster client. */
const withCluster = (name: string, body: () => void) => {
  // Like every suite of instances sharing Redis, it runs with the real services (REDIS_URL set, as CI does).
  if (canStartCluster() && process.env.REDIS_URL) return describe(name, body);
  console.warn(`[stands aside] "${name}" needs redis-server and redis-cli on the PATH and the real services (REDIS_URL set; CI has both).`);
  const standAside = describe.skip;
  standAside(name, body);
};

withCluster('on a Redis Cluster of three masters', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());
  const target = clusterTarget(() => cluster);

  describe('the denylist mirror when an instance cannot hear Redis', () => cannotHearRedis(target));
  describe('the denylist mirror when an instance stops for longer than its lease', () => stopsLongerThanLease(target));
});
