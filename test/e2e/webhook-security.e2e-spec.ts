import { createUser } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { type StaffApi, staffApi } from '../support/staff-api.js';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.js';

const REASON = 'webhook security e2e';

const lock = async (t: TestApp, api: StaffApi) => {
  const u = await createUser(t.app);
  const r = await api.call('POST', `/admin/api/users/${u.id}/lock`, { reason: REASON });
  expect(r.status).toBe(200);
  return { userId: u.id, auditId: r.body.audit_id as string };
};

describe('webhook secret rotation: both secrets sign during the grace period', () => {
  let t: TestApp;
  let api: StaffApi;
  const rx = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_SECRET_GRACE: '3s' } });
    api = await staffApi(t);
    await rx.start();
  });
  afterAll(async () => {
    await t?.close();
    await rx.stop();
  });

  it('lets a receiver holding only the old secret and one holding only the new verify every request until the grace ends', async () => {
    const created = await api.call('POST', '/admin/api/webhooks', { reason: REASON, url: rx.url });
    const id = created.body.subscription.id as string;
    const oldSecret = created.body.secret as string;
    await lock(t, api);
    rx.secrets = [oldSecret];
    expect((await rx.waitFor(() => true, 1))[0].verified).toEqual([true]);

    const rotated = await api.call('POST', `/admin/api/webhooks/${id}/rotate-secret`, { reason: 'routine rotation' });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(Date.parse(rotated.body.subscription.previous_secret_until)).toBeGreaterThan(Date.now());

    // Verified separately: [old only, new only].
    rx.secrets = [oldSecret, newSecret];
    rx.received.length = 0;
    await lock(t, api);
    await lock(t, api);
    expect((await api.call('POST', `/admin/api/webhooks/${id}/test`, { reason: REASON })).status).toBe(202);
    const during = await rx.waitFor(() => true, 3);
    for (const r of during) {
      expect(r.verified).toEqual([true, true]);
      expect(String(r.headers['webhook-signature']).split(' ')).toHaveLength(2);
    }

    // Once the grace period is over only the new secret signs.
    await new Promise((r) => setTimeout(r, 3200));
    rx.received.length = 0;
    await lock(t, api);
    const [after] = await rx.waitFor(() => true, 1);
    expect(after.verified).toEqual([false, true]);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect((await api.call('GET', `/admin/api/webhooks/${id}`)).body.subscription.previous_secret_until).toBeNull();
  });
});

describe('webhook SSRF guard: private and loopback addresses are refused by default, at delivery time too', () => {
  let allowing: TestApp;
  let guarded: Awaited<ReturnType<typeof startTestApp>>;
  let allowingApi: StaffApi;
  let guardedApi: StaffApi;
  const rx = new WebhookReceiver();

  beforeAll(async () => {
    await rx.start();
    // Two instances on one database: one that allows private networks (its worker off) registers
    // what the default one must then refuse to deliver to.
    guarded = await startTestApp({ env: { WEBHOOK_RETRY_DELAYS: '1' } });
    allowing = await startTestApp({
      database: guarded.database,
      env: {
        KEY_ENCRYPTION_KEY: guarded.config.keyEncryptionKey!,
        REDIS_KEY_PREFIX: guarded.config.redisKeyPrefix,
        ISSUER: guarded.config.issuer,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_WORKER: 'false',
      },
    });
    guardedApi = await staffApi(guarded);
    allowingApi = await staffApi(allowing);
  });
  afterAll(async () => {
    await allowing?.close();
    await guarded?.close();
    await rx.stop();
  });

  it('refuses at registration an address written in the URL: loopback, private, link-local, IPv4-mapped IPv6', async () => {
    for (const url of [`http://127.0.0.1:${rx.port}/hook`, 'http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]/hook', `http://[::ffff:127.0.0.1]:${rx.port}/hook`, 'http://0.0.0.0/']) {
      const r = await guardedApi.call('POST', '/admin/api/webhooks', { reason: REASON, url });
      expect({ url, status: r.status, code: r.body.code }).toEqual({ url, status: 400, code: 'INVALID_WEBHOOK_URL' });
    }
    expect((await guardedApi.call('GET', '/admin/api/webhooks')).body.webhooks).toEqual([]);
  });

  it('refuses at delivery time a hostname that resolves to 127.0.0.1, and an IPv4-mapped address registered while allowed', async () => {
    const byName = await guardedApi.call('POST', '/admin/api/webhooks', { reason: REASON, url: `http://localhost:${rx.port}/hook` });
    expect(byName.status).toBe(201);
    const mapped = await allowingApi.call('POST', '/admin/api/webhooks', { reason: REASON, url: `http://[::ffff:127.0.0.1]:${rx.port}/hook` });
    expect(mapped.status).toBe(201);

    const { auditId } = await lock(guarded, guardedApi);
    const failed = await eventually(async () => {
      const all = (await guardedApi.call('GET', `/admin/api/audit/${auditId}/deliveries`)).body.deliveries as any[];
      return all.length === 2 && all.every((d) => d.status === 'failed') ? all : null;
    }, 15_000, 'both deliveries failed');
    const bySub = new Map(failed.map((d) => [d.subscription_id, d]));
    const nameAttempts = bySub.get(byName.body.subscription.id).attempt_log;
    expect(nameAttempts).toHaveLength(2);
    expect(nameAttempts[0].error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(bySub.get(mapped.body.subscription.id).attempt_log[0].error).toMatch(/^refused: the address is loopback/);
    expect(rx.received).toEqual([]);
  });
});
