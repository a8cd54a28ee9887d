import { Database } from '../../src/infra/database/database.js';
import { createUser, login } from '../support/fixtures.js';
import { freePort, startTestApp, type TestApp } from '../support/test-app.js';
import { type StaffApi, staffApi } from '../support/staff-api.js';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.js';

const REASON = 'webhook delivery e2e';

/**
 * Delivery over real HTTP to receivers on loopback: retries with one webhook-id, a final failed
 * state and manual redelivery, the per-attempt timeout, and no head-of-line blocking across
 * subscriptions.
 */
describe('webhook delivery: retries, failure, redelivery and isolation', () => {
  let t: TestApp;
  let api: StaffApi;
  const receivers: WebhookReceiver[] = [];

  const receiver = async (port = 0) => {
    const r = await new WebhookReceiver().start(port);
    receivers.push(r);
    return r;
  };
  const subscribe = async (url: string, receiverToVerify?: WebhookReceiver) => {
    const r = await api.call('POST', '/admin/api/webhooks', { reason: REASON, url, event_types: ['user.locked'] });
    expect(r.status).toBe(201);
    if (receiverToVerify) receiverToVerify.secrets = [r.body.secret];
    return r.body.subscription.id as string;
  };
  const lockSomeone = async () => {
    const u = await createUser(t.app);
    const r = await api.call('POST', `/admin/api/users/${u.id}/lock`, { reason: REASON });
    expect(r.status).toBe(200);
    return { userId: u.id, auditId: r.body.audit_id as string };
  };
  /** The one delivery of a revocation to a subscription, as the incident call shows it. */
  const deliveryOf = async (auditId: string, subscriptionId: string) => {
    const r = await api.call('GET', `/admin/api/audit/${auditId}/deliveries`);
    expect(r.status).toBe(200);
    return (r.body.deliveries as any[]).find((d) => d.subscription_id === subscriptionId);
  };
  const settled = (auditId: string, subscriptionId: string, status: string) =>
    eventually(async () => {
      const d = await deliveryOf(auditId, subscriptionId);
      return d?.status === status ? d : null;
    }, 15_000, `a ${status} delivery`);

  beforeAll(async () => {
    t = await startTestApp({
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_DELAYS: '1,1', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_CONCURRENCY: '8', WEBHOOK_SUBSCRIPTION_CONCURRENCY: '2' },
    });
    api = await staffApi(t);
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all(receivers.map((r) => r.stop()));
  });

  it('retries a receiver that answers 500 twice, then 204: three attempts, one webhook-id', async () => {
    const rx = await receiver();
    rx.script = [500, 500, 204];
    const sub = await subscribe(rx.url, rx);
    const { userId, auditId } = await lockSomeone();

    const got = await rx.waitFor((r) => r.body.data.subject.id === userId, 3);
    expect(got.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(got.every((r) => r.verified[0])).toBe(true);
    // The timestamp is the attempt's own; the body is the same event every time.
    expect(new Set(got.map((r) => r.raw)).size).toBe(1);

    const d = await settled(auditId, sub, 'delivered');
    expect(d.webhook_id).toBe(got[0].headers['webhook-id']);
    expect(d.attempts).toBe(3);
    expect(d.attempt_log.map((a: any) => a.status)).toEqual([500, 500, 204]);
    expect(d.attempt_log[0].response_excerpt).toBe('receiver says no');
    expect(d.latency_ms).toBeGreaterThan(0);
  });

  it('leaves a delivery failed when the receiver is down past the last attempt; redelivery then delivers it with the same webhook-id', async () => {
    const port = await freePort();
    const sub = await subscribe(`http://127.0.0.1:${port}/hook`);
    const first = await lockSomeone();
    const second = await lockSomeone();

    const failed = await settled(first.auditId, sub, 'failed');
    expect(failed.attempts).toBe(3);
    expect(failed.attempt_log).toHaveLength(3);
    for (const a of failed.attempt_log) expect(a).toMatchObject({ status: null, manual: false, error: expect.stringContaining('ECONNREFUSED') });
    await settled(second.auditId, sub, 'failed');
    expect((await api.call('GET', `/admin/api/webhooks/${sub}`)).body.subscription.failing_since).toEqual(expect.any(String));

    const rx = await receiver(port);
    const subscription = await api.call('GET', `/admin/api/webhooks/${sub}/deliveries?status=failed`);
    expect(subscription.body.items).toHaveLength(2);
    const redeliver = await api.call('POST', `/admin/api/deliveries/${failed.id}/redeliver`, { reason: 'receiver is back' });
    expect(redeliver.status).toBe(202);
    const [again] = await rx.waitFor((r) => r.body.data.subject.id === first.userId);
    expect(again.headers['webhook-id']).toBe(failed.webhook_id);
    const delivered = await settled(first.auditId, sub, 'delivered');
    expect(delivered.attempt_log.map((a: any) => [a.status, a.manual])).toEqual([
      [null, false],
      [null, false],
      [null, false],
      [204, true],
    ]);
    // A delivered delivery is not redelivered twice at once, and a pending one not at all.
    const bulk = await api.call('POST', `/admin/api/webhooks/${sub}/redeliver-failed`, { reason: 'receiver is back', since: new Date(Date.now() - 60_000).toISOString() });
    expect(bulk).toMatchObject({ status: 202, body: { redelivering: 1 } });
    await rx.waitFor((r) => r.body.data.subject.id === second.userId);
    await settled(second.auditId, sub, 'delivered');
    expect((await api.call('GET', `/admin/api/webhooks/${sub}`)).body.subscription.failing_since).toBeNull();
    // Both redeliveries and the subscription's creation are in the audit log with their reason.
    const audit = await api.call('GET', `/admin/api/audit?action=webhook.redelivered`);
    expect(audit.body.items.map((e: any) => e.reason)).toEqual(['receiver is back', 'receiver is back']);
  });

  it('cuts off a receiver that hangs, and meanwhile delivers to a healthy one without waiting for it', async () => {
    const hanging = await receiver();
    hanging.fallback = 'hang';
    const healthy = await receiver();
    const slow = await subscribe(hanging.url);
    await subscribe(healthy.url, healthy);

    // More events than this process has delivery slots (8): without a per-subscription limit the
    // hanging receiver would hold every slot, and the healthy one would wait for its timeouts.
    // The locks go out together (users made and one staff token taken beforehand), so the burst
    // takes far less than one attempt's timeout.
    const users = await Promise.all(Array.from({ length: 12 }, () => createUser(t.app)));
    const token = (await login(t, api.client, api.staff)).access_token;
    const locks = await Promise.all(
      users.map(async (u) => {
        const res = await fetch(`${t.url}/admin/api/users/${u.id}/lock`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: REASON }) });
        expect(res.status).toBe(200);
        return { userId: u.id, auditId: ((await res.json()) as { audit_id: string }).audit_id };
      }),
    );
    const ids = new Set(locks.map((l) => l.userId));
    await healthy.waitFor((r) => ids.has(r.body.data.subject.id), locks.length);
    // Every healthy delivery arrived before the first attempt to the hanging receiver was cut off.
    const firstCutOff = await api.call('GET', `/admin/api/webhooks/${slow}/deliveries?status=retrying`);
    expect(firstCutOff.body.items).toEqual([]);
    expect(hanging.received.length).toBeLessThanOrEqual(2);

    const cut = await settled(locks[0].auditId, slow, 'retrying');
    expect(cut.attempt_log[0]).toMatchObject({ status: null, error: 'timed out after 2000 ms' });
    expect(cut.attempt_log[0].duration_ms).toBeGreaterThanOrEqual(1900);
    expect(cut.attempt_log[0].duration_ms).toBeLessThan(4000);
  });

  it('puts a receiver that stalls behind the healthy ones before its attempt times out, and brings it back once it answers', async () => {
    const db = t.app.get(Database);
    const stalling = await receiver();
    stalling.fallback = 'hang';
    const sub = await subscribe(stalling.url, stalling);
    // One statement, one snapshot: the flags and the priorities of the attempts waiting.
    const state = async () =>
      (
        await db.query<{ behind: boolean; failing: boolean; waiting: number[] }>(
          `SELECT behind_since IS NOT NULL AS behind, failing_since IS NOT NULL AS failing,
             ARRAY(SELECT priority FROM pgboss.job WHERE name = 'webhook-attempt' AND group_id = $1 AND state = 'created' ORDER BY priority) AS waiting
           FROM webhook_subscriptions WHERE id = $1::uuid`,
          [sub],
        )
      )[0];

    // Two attempts in flight (its limit), two waiting; nothing has failed yet.
    const first = await Promise.all(Array.from({ length: 4 }, () => lockSomeone()));
    await stalling.waitFor(() => true, 2);
    expect(await state()).toEqual({ behind: false, failing: false, waiting: [0, 0] });

    // A healthy receiver answers in milliseconds: one silent for a second goes behind, before the
    // 2 s timeout has failed anything, its waiting attempts with it.
    const behind = await eventually(async () => {
      const s = await state();
      return s.behind ? s : null;
    }, 5_000, 'the subscription behind');
    expect(behind).toEqual({ behind: true, failing: false, waiting: [-1, -1] });
    // Its next event waits behind too, from the start.
    const next = await lockSomeone();
    const nextDelivery = await deliveryOf(next.auditId, sub);
    expect(await db.query(`SELECT priority FROM pgboss.job WHERE name = 'webhook-attempt' AND data->>'deliveryId' = $1`, [nextDelivery.id])).toEqual([{ priority: -1 }]);

    // It answers again: every event arrives (the two cut off retried), and it is healthy again.
    stalling.fallback = 204;
    const ids = new Set([...first, next].map((l) => l.userId));
    await stalling.waitFor((r) => r.answered === 204 && ids.has(r.body.data.subject.id), 5, 15_000);
    for (const l of [...first, next]) await settled(l.auditId, sub, 'delivered');
    expect(await state()).toEqual({ behind: false, failing: false, waiting: [] });
  });

  it('keeps a receiver that answers, but slowly, behind the healthy ones without counting it as failing; a quick answer brings it back', async () => {
    const db = t.app.get(Database);
    const slow = await receiver();
    slow.delayMs = 1_300;
    const sub = await subscribe(slow.url, slow);
    const flags = async () => (await db.query<{ behind: boolean; failing: boolean }>(`SELECT behind_since IS NOT NULL AS behind, failing_since IS NOT NULL AS failing FROM webhook_subscriptions WHERE id = $1`, [sub]))[0];

    const first = await lockSomeone();
    const delivered = await settled(first.auditId, sub, 'delivered');
    expect(delivered.attempt_log[0].duration_ms).toBeGreaterThanOrEqual(1_300);
    expect(await flags()).toEqual({ behind: true, failing: false });

    slow.delayMs = 0;
    const second = await lockSomeone();
    await settled(second.auditId, sub, 'delivered');
    expect(await flags()).toEqual({ behind: false, failing: false });
  });

  it('drops the attempts still waiting when their subscription is deleted', async () => {
    const db = t.app.get(Database);
    const stuck = await receiver();
    stuck.fallback = 'hang';
    const sub = await subscribe(stuck.url);
    await Promise.all(Array.from({ length: 5 }, () => lockSomeone()));
    await stuck.waitFor(() => true, 2);
    const waiting = () => db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook-attempt' AND group_id = $1 AND state IN ('created', 'retry')`, [sub]);
    expect(await waiting()).toEqual([{ n: 3 }]);
    expect((await api.call('DELETE', `/admin/api/webhooks/${sub}`, { reason: REASON })).status).toBe(200);
    expect(await waiting()).toEqual([{ n: 0 }]);
  });
});

describe('webhook delivery: a subscription that keeps failing', () => {
  let t: TestApp;
  let api: StaffApi;
  const rx = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_DELAYS: '2,2', WEBHOOK_DISABLE_AFTER: '1s' } });
    api = await staffApi(t);
    await rx.start();
  });
  afterAll(async () => {
    await t?.close();
    await rx.stop();
  });

  it('is disabled once it has failed without a success for WEBHOOK_DISABLE_AFTER, audited, and gets no more deliveries', async () => {
    rx.fallback = 500;
    const created = await api.call('POST', '/admin/api/webhooks', { reason: REASON, url: rx.url });
    const id = created.body.subscription.id as string;
    const u = await createUser(t.app);
    const lock = await api.call('POST', `/admin/api/users/${u.id}/lock`, { reason: REASON });
    expect(lock.status).toBe(200);

    const disabled = await eventually(async () => {
      const sub = (await api.call('GET', `/admin/api/webhooks/${id}`)).body.subscription;
      return sub.enabled ? null : sub;
    }, 15_000, 'the subscription to be disabled');
    expect(disabled.disabled_reason).toMatch(/^failing without a success since /);
    expect(rx.received).toHaveLength(2);
    const audit = await api.call('GET', `/admin/api/audit?action=webhook.disabled&target=${id}`);
    expect(audit.body.items).toEqual([expect.objectContaining({ actor: { type: 'system', id: null }, target: { type: 'webhook', id }, reason: disabled.disabled_reason })]);
    // The attempt it still had scheduled is not made: the delivery ends failed, kept for a redelivery.
    const d = await eventually(async () => {
      const x = (await api.call('GET', `/admin/api/audit/${lock.body.audit_id}/deliveries`)).body.deliveries[0];
      return x.status === 'failed' ? x : null;
    }, 15_000, 'the delivery to fail');
    expect(d).toMatchObject({ attempts: 2, last_error: 'not attempted: the subscription is disabled' });
    // Nothing more is sent to it.
    const next = await api.call('POST', `/admin/api/users/${u.id}/unlock`, { reason: REASON });
    expect((await api.call('GET', `/admin/api/audit/${next.body.audit_id}/deliveries`)).body.deliveries).toEqual([]);
    expect(rx.received).toHaveLength(2);
  });
});
