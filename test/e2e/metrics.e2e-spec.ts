import { randomUUID } from 'node:crypto';
import { Server } from 'node:net';
import { DataSource } from 'typeorm';
import { authGet, basic, createClient, createUser, login, PASSWORD, tokenRequest, type TestClient } from '../support/fixtures.js';
import { withRealRedis } from '../support/real-redis.js';
import { TcpProxy, redisTarget } from '../support/tcp-proxy.js';
import { freePort, startTestApp, type TestApp } from '../support/test-app.js';

/** The value of one series in a Prometheus text exposition (undefined when absent). */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(found).length !== Object.keys(labels).length) continue;
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Loopback ports this process listens on right now. */
function listeningPorts(): number[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((h): h is Server => h instanceof Server && h.listening)
    .map((s) => s.address())
    .flatMap((a) => (a && typeof a === 'object' ? [a.port] : []));
}

describe('metrics off (no METRICS_PORT)', () => {
  it('starts no metrics server, and the public port has no /metrics route', async () => {
    const before = new Set(listeningPorts());
    const t = await startTestApp();
    try {
      const port = Number(new URL(t.url).port);
      expect(listeningPorts().filter((p) => !before.has(p))).toEqual([port]);
      const res = await fetch(`${t.url}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('latchkey_');
    } finally {
      await t.close();
    }
  });
});

describe('metrics on (METRICS_PORT)', () => {
  let t: TestApp;
  let metricsUrl: string;
  let client: TestClient;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    t = await startTestApp({ env: { METRICS_PORT: String(metricsPort), LOGIN_MAX_FAILURES_PER_ACCOUNT: '2', LOGIN_MAX_FAILURES_PER_IP: '1000', LOGIN_THROTTLE_WINDOW: '60' } });
    client = await createClient(t.app);
  });
  afterAll(() => t?.close());

  it('serves the series in Prometheus text format on its own port, with route patterns and no personal data', async () => {
    const alice = await createUser(t.app);
    const bob = await createUser(t.app);

    // Logins: one success, two failures, one throttled (the account's limit is 2).
    const tokens = await login(t, client, alice);
    const guess = () => tokenRequest(t, client, { grant_type: 'password', username: bob.email, password: `not ${PASSWORD}` });
    expect((await guess()).status).toBe(400);
    expect((await guess()).status).toBe(400);
    expect((await guess()).status).toBe(429);

    // An accepted token, then the same token revoked (by jti) and refused.
    expect((await authGet(t, '/userinfo', tokens.access_token)).status).toBe(200);
    const revoke = await fetch(`${t.url}/oauth/revoke`, {
      method: 'POST',
      headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, token_type_hint: 'access_token' }).toString(),
    });
    expect(revoke.status).toBe(200);
    expect((await authGet(t, '/userinfo', tokens.access_token)).status).toBe(401);

    // A parametrised route and an unmatched path: labelled by pattern, never by URL.
    const someId = randomUUID();
    const staff = await createUser(t.app, { roles: ['admin'] });
    const staffTokens = await login(t, client, staff);
    expect((await authGet(t, `/admin/api/users/${someId}`, staffTokens.access_token)).status).toBe(404);
    expect((await fetch(`${t.url}/no/such/${alice.email}`)).status).toBe(404);

    // The public port has no /metrics route.
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);

    const res = await fetch(metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();

    // Requests by route pattern, method and status; latency histograms by route pattern and method.
    expect(series(text, 'latchkey_http_requests_total', { method: 'POST', route: '/oauth/token', status: '200' })).toBe(2);
    expect(series(text, 'latchkey_http_requests_total', { method: 'POST', route: '/oauth/token', status: '400' })).toBe(2);
    expect(series(text, 'latchkey_http_requests_total', { method: 'POST', route: '/oauth/token', status: '429' })).toBe(1);
    expect(series(text, 'latchkey_http_requests_total', { method: 'GET', route: '/userinfo', status: '200' })).toBe(1);
    expect(series(text, 'latchkey_http_requests_total', { method: 'GET', route: '/userinfo', status: '401' })).toBe(1);
    expect(series(text, 'latchkey_http_requests_total', { method: 'POST', route: '/oauth/revoke', status: '200' })).toBe(1);
    expect(series(text, 'latchkey_http_requests_total', { method: 'GET', route: '/admin/api/users/:id', status: '404' })).toBe(1);
    expect(series(text, 'latchkey_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(2);
    expect(text).toContain('# TYPE latchkey_http_request_duration_seconds histogram');
    expect(series(text, 'latchkey_http_request_duration_seconds_count', { method: 'GET', route: '/userinfo' })).toBe(2);
    expect(series(text, 'latchkey_http_request_duration_seconds_bucket', { method: 'GET', route: '/userinfo', le: '+Inf' })).toBe(2);
    expect(series(text, 'latchkey_http_request_duration_seconds_sum', { method: 'GET', route: '/userinfo' })).toBeGreaterThan(0);

    // Revocation checks: accepted (the /userinfo and the admin call), refused by kind, failed closed.
    expect(series(text, 'latchkey_revocation_checks_total', { result: 'accepted' })).toBe(2);
    expect(series(text, 'latchkey_revocation_checks_total', { result: 'refused', kind: 'jti' })).toBe(1);
    expect(series(text, 'latchkey_revocation_checks_total', { result: 'refused', kind: 'user' })).toBe(0);
    expect(series(text, 'latchkey_revocation_checks_total', { result: 'failed_closed' })).toBe(0);

    // Logins by result.
    expect(series(text, 'latchkey_logins_total', { result: 'success' })).toBe(2);
    expect(series(text, 'latchkey_logins_total', { result: 'failure' })).toBe(2);
    expect(series(text, 'latchkey_logins_total', { result: 'throttled' })).toBe(1);
    expect(series(text, 'latchkey_logins_total', { result: 'shed' })).toBe(0);

    // Denylist sync, hashing queue, store errors.
    const lag = series(text, 'latchkey_denylist_sync_lag_seconds');
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(5);
    expect(series(text, 'latchkey_denylist_rebuilds_total')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'latchkey_denylist_sync_failures_total')).toBe(0);
    expect(series(text, 'latchkey_password_hash_queue_depth')).toBe(0);
    expect(series(text, 'latchkey_redis_errors_total')).toBe(0);
    for (const source of ['query', 'connect', 'pool']) expect(series(text, 'latchkey_postgres_errors_total', { source })).toBeDefined();

    // No personal data, id or secret in any label.
    for (const secret of [alice.email, bob.email, staff.email, alice.id, bob.id, staff.id, someId, tokens.access_token, tokens.refresh_token, staffTokens.access_token, client.clientId, client.clientSecret!]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain('@example.com');
  });

  it('counts a failed PostgreSQL statement, but not an integrity violation (an answer such as EMAIL_TAKEN)', async () => {
    const queryErrors = async () => series(await (await fetch(metricsUrl)).text(), 'latchkey_postgres_errors_total', { source: 'query' })!;
    const before = await queryErrors();
    await expect(t.app.get(DataSource).query('SELECT 1 / 0')).rejects.toThrow();
    expect(await queryErrors()).toBe(before + 1);
    const taken = await createUser(t.app);
    await expect(createUser(t.app, { email: taken.email })).rejects.toThrow();
    expect(await queryErrors()).toBe(before + 1);
  });

  it('answers 404 on the metrics port for anything but GET /metrics', async () => {
    const base = metricsUrl.replace('/metrics', '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});

describe('metrics on: logins shed by a full hashing queue', () => {
  it('counts each 503 of a full hashing queue as shed, never as a failure', async () => {
    const metricsPort = await freePort();
    const t = await startTestApp({ env: { METRICS_PORT: String(metricsPort), PASSWORD_HASH_QUEUE_LIMIT: '1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000', LOGIN_MAX_FAILURES_PER_IP: '1000' } });
    try {
      const client = await createClient(t.app);
      const user = await createUser(t.app);
      const answers = await Promise.all(Array.from({ length: 16 }, () => tokenRequest(t, client, { grant_type: 'password', username: user.email, password: user.password })));
      const statuses = answers.map((a) => a.status);
      const shed = statuses.filter((s) => s === 503).length;
      expect(shed).toBeGreaterThan(0);
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(series(text, 'latchkey_logins_total', { result: 'shed' })).toBe(shed);
      expect(series(text, 'latchkey_logins_total', { result: 'success' })).toBe(statuses.filter((s) => s === 200).length);
      expect(series(text, 'latchkey_logins_total', { result: 'failure' })).toBe(0);
      expect(series(text, 'latchkey_http_requests_total', { method: 'POST', route: '/oauth/token', status: '503' })).toBe(shed);
    } finally {
      await t.close();
    }
  });
});

withRealRedis('metrics on: Redis gone', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let metricsUrl: string;

  beforeAll(async () => {
    const target = redisTarget();
    proxy = new TcpProxy(target.host, target.port);
    const port = await proxy.start();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    t = await startTestApp({ env: { METRICS_PORT: String(metricsPort), REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '150', REVOCATION_CHECK: 'redis' } });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.cut();
  });

  it('counts the checks that failed closed and the Redis client errors', async () => {
    const client = await createClient(t.app);
    const user = await createUser(t.app);
    const tokens = await login(t, client, user);
    expect((await authGet(t, '/userinfo', tokens.access_token)).status).toBe(200);
    await proxy.cut();
    const res = await fetch(`${t.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` }, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(503);
    await res.text();
    // Give the client a moment to notice the lost connection (its 'error' events).
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await (await fetch(metricsUrl)).text();
      if ((series(text, 'latchkey_redis_errors_total') ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(series(text, 'latchkey_revocation_checks_total', { result: 'failed_closed' })).toBeGreaterThanOrEqual(1);
    expect(series(text, 'latchkey_revocation_checks_total', { result: 'accepted' })).toBe(1);
    expect(series(text, 'latchkey_redis_errors_total')).toBeGreaterThan(0);
    expect(series(text, 'latchkey_http_requests_total', { method: 'GET', route: '/userinfo', status: '503' })).toBe(1);
    // Back: the instance catches up and accepts the token again.
    await proxy.restore();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await authGet(t, '/userinfo', tokens.access_token)).status;
    }
    expect(status).toBe(200);
  }, 30_000);
});
