import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { cleanEnv, runCliAsync } from '../support/processes.js';
import { startTestApp } from '../support/test-app.js';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.js';

type App = Awaited<ReturnType<typeof startTestApp>>;
type User = Awaited<ReturnType<typeof createUser>>;

/** `whsec_` and base64 of at least 24 random bytes. */
const SECRET = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;
const REASON = 'webhooks admin e2e';
const SUBSCRIPTION_KEYS = ['created_at', 'description', 'disabled_reason', 'enabled', 'event_types', 'failing_since', 'id', 'previous_secret_until', 'updated_at', 'url'];

interface Subscription {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  previous_secret_until: string | null;
  created_at: string;
  updated_at: string;
}

interface Attempt {
  number: number;
  at: string;
  status: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string;
  manual: boolean;
}

interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  audit_id: string | null;
  subscription_id: string;
  url: string;
  status: 'pending' | 'delivered' | 'retrying' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  latency_ms: number | null;
  created_at: string;
  updated_at: string;
  attempt_log?: Attempt[];
}

interface AuditItem {
  id: string;
  actor: { type: string; id: string | null };
  action: string;
  target: { type: string; id: string };
  reason: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
}

interface Answer {
  status: number;
  body: any;
  contentType: string;
  requestId: string | null;
  challenge: string | null;
}

/** A call to the admin API of `t`. `body: undefined` sends no body at all; `token: null` no token. */
async function call(t: App, method: string, path: string, token: string | null, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}/admin/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, contentType: res.headers.get('content-type') ?? '', requestId: res.headers.get('x-request-id'), challenge: res.headers.get('www-authenticate') };
}

function expectProblem(r: Answer, status: number, code: string, label = '') {
  expect({ label, status: r.status, code: r.body?.code }).toEqual({ label, status, code });
  expect(r.contentType).toMatch(/^application\/problem\+json/);
  expect(r.body.status).toBe(status);
}

/** A query on the app's own database, as an operator with psql would see it. */
async function sql<T extends object>(t: App, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Neither the secret, nor its base64 part, nor any whsec_ value appears in `body`. */
function expectNoSecret(body: unknown, secret: string) {
  const text = JSON.stringify(body);
  expect(text).not.toContain(secret);
  expect(text).not.toContain(secret.slice('whsec_'.length));
  expect(text).not.toMatch(/whsec_/);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything a test needs from one running app: staff tokens and the admin API calls. */
function staffApi() {
  const s = {} as {
    t: App;
    web: TestClient;
    admin: User;
    security: User;
    plain: User;
    adminToken: string;
    securityToken: string;
    plainToken: string;
  };

  const api = (method: string, path: string, body?: unknown) => call(s.t, method, path, s.adminToken, body);

  async function start(env: Record<string, string>) {
    s.t = await startTestApp({ env });
    s.web = await createClient(s.t.app);
    s.admin = await createUser(s.t.app, { roles: ['admin'] });
    s.security = await createUser(s.t.app, { roles: ['security'] });
    s.plain = await createUser(s.t.app);
    s.adminToken = (await login(s.t, s.web, s.admin)).access_token;
    s.securityToken = (await login(s.t, s.web, s.security)).access_token;
    s.plainToken = (await login(s.t, s.web, s.plain)).access_token;
  }

  async function create(fields: Record<string, unknown>): Promise<{ subscription: Subscription; secret: string }> {
    const r = await api('POST', '/webhooks', { reason: REASON, ...fields });
    expect({ status: r.status, body: r.body }).toEqual({ status: 201, body: expect.anything() });
    return r.body;
  }

  async function list(): Promise<Subscription[]> {
    const r = await api('GET', '/webhooks');
    expect(r.status).toBe(200);
    return r.body.webhooks;
  }

  async function get(id: string): Promise<Subscription> {
    const r = await api('GET', `/webhooks/${id}`);
    expect(r.status).toBe(200);
    return r.body.subscription;
  }

  async function delivery(id: string): Promise<Delivery> {
    const r = await api('GET', `/deliveries/${id}`);
    expect(r.status).toBe(200);
    return r.body.delivery;
  }

  /** Polls the delivery until `done` holds for it. */
  const deliveryWhen = (id: string, done: (d: Delivery) => boolean, what: string, ms = 15_000) =>
    eventually(async () => {
      const d = await delivery(id);
      return done(d) ? d : null;
    }, ms, what);

  async function auditPage(query: string): Promise<AuditItem[]> {
    const r = await api('GET', `/audit${query}`);
    expect(r.status).toBe(200);
    return r.body.items;
  }

  const newestAuditId = async () => (await auditPage('?limit=1'))[0]?.id ?? '0';

  /** The newest audit entry for this action and target was written by `res`, by `actor`, with `reason`. */
  async function expectAudited(res: Answer | null, e: { action: string; target: { type: string; id: string }; actor: { type: string; id: string | null }; reason: string }): Promise<AuditItem> {
    const [entry] = await auditPage(`?action=${encodeURIComponent(e.action)}&target=${encodeURIComponent(e.target.id)}`);
    expect(entry).toMatchObject({ action: e.action, target: e.target, actor: e.actor, reason: e.reason });
    if (res) {
      expect(res.requestId).toEqual(expect.any(String));
      expect(entry.request_id).toBe(res.requestId);
    }
    return entry;
  }

  /** Locks a fresh user; answers the user and the lock's audit id. */
  async function lockSomeone(reason = 'compromised account'): Promise<{ user: User; auditId: string }> {
    const user = await createUser(s.t.app);
    const r = await api('POST', `/users/${user.id}/lock`, { reason });
    expect(r.status).toBe(200);
    expect(r.body.audit_id).toMatch(/^\d+$/);
    return { user, auditId: r.body.audit_id };
  }

  return { s, api, start, create, list, get, delivery, deliveryWhen, auditPage, newestAuditId, expectAudited, lockSomeone };
}

describe('webhook subscriptions admin API and CLI (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)', () => {
  const w = staffApi();
  const { s, api, create, list, get, delivery, deliveryWhen, newestAuditId, expectAudited, lockSomeone } = w;
  /** Where the subscriptions that are not under test point: it answers 204 to everything. */
  const sink = new WebhookReceiver();
  const receivers: WebhookReceiver[] = [sink];
  const receiver = async () => {
    const r = await new WebhookReceiver().start();
    receivers.push(r);
    return r;
  };
  const adminActor = () => ({ type: 'admin', id: s.admin.id });

  beforeAll(async () => {
    await sink.start();
    await w.start({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_SECRET_GRACE: '1h', WEBHOOK_RETRY_DELAYS: '1', WEBHOOK_TIMEOUT_MS: '1500' });
  });

  afterAll(async () => {
    await s.t?.close();
    for (const r of receivers) await r.stop();
  });

  describe('creating', () => {
    it('answers 201 with a whsec_ secret and the subscription (every event type, enabled, by default); the secret is never shown again', async () => {
      const r = await api('POST', '/webhooks', { reason: 'new subscriber', url: sink.url });
      expect(r.status).toBe(201);
      expect(Object.keys(r.body).sort()).toEqual(['secret', 'subscription']);
      const { subscription, secret } = r.body as { subscription: Subscription; secret: string };
      expect(secret).toMatch(SECRET);
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
      expect(Object.keys(subscription).sort()).toEqual(SUBSCRIPTION_KEYS);
      expect(subscription).toMatchObject({ url: sink.url, description: '', event_types: ['*'], enabled: true, disabled_reason: null, failing_since: null, previous_secret_until: null });
      expect(subscription.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

      // Every subscription gets its own secret.
      const other = await create({ url: sink.url });
      expect(other.secret).toMatch(SECRET);
      expect(other.secret).not.toBe(secret);

      // Never again: not in the list, nor the subscription, nor a PATCH answer, nor the audit log.
      const listed = await api('GET', '/webhooks');
      expect(listed.status).toBe(200);
      expect(listed.body.webhooks.find((x: Subscription) => x.id === subscription.id)).toEqual(subscription);
      expectNoSecret(listed.body, secret);
      const one = await api('GET', `/webhooks/${subscription.id}`);
      expect(one.body).toEqual({ subscription });
      expectNoSecret(one.body, secret);
      const patched = await api('PATCH', `/webhooks/${subscription.id}`, { reason: 'rename', description: 'the sink' });
      expect(patched.status).toBe(200);
      expect(Object.keys(patched.body.subscription).sort()).toEqual(SUBSCRIPTION_KEYS);
      expectNoSecret(patched.body, secret);
      const audited = await expectAudited(r, { action: 'webhook.created', target: { type: 'webhook', id: subscription.id }, actor: adminActor(), reason: 'new subscriber' });
      expect(audited.data).toEqual({ url: sink.url, event_types: ['*'], enabled: true });
      expectNoSecret(audited, secret);

      // The database holds it sealed, not as it was shown.
      const [row] = await sql<{ secret_enc: string; previous_secret_enc: string | null; event_types: string[] | null }>(
        s.t,
        'SELECT secret_enc, previous_secret_enc, event_types FROM webhook_subscriptions WHERE id = $1',
        [subscription.id],
      );
      expect(row.secret_enc).toEqual(expect.any(String));
      expect(row.secret_enc).not.toBe(secret);
      expect(row.secret_enc).not.toContain(secret.slice('whsec_'.length));
      expect(row.previous_secret_enc).toBeNull();
      expect(row.event_types).toBeNull();
    });

    it('takes a description, event types and the disabled state', async () => {
      const { subscription } = await create({ url: sink.url, description: 'billing service', event_types: ['user.locked', 'token.revoked', 'user.locked'], enabled: false });
      expect(subscription).toMatchObject({ url: sink.url, description: 'billing service', event_types: ['user.locked', 'token.revoked'], enabled: false, disabled_reason: null });
      expect(await get(subscription.id)).toEqual(subscription);
      // A list naming * with other types is every type.
      expect((await create({ url: sink.url, event_types: ['user.locked', '*'], enabled: false })).subscription.event_types).toEqual(['*']);
    });

    it('refuses a bad URL, an unknown event type and unknown fields with 400, and creates nothing', async () => {
      const before = await list();
      const auditBefore = await newestAuditId();
      const cases: [string, Record<string, unknown>, string, string?][] = [
        ['not a URL', { url: 'not a url' }, 'INVALID_WEBHOOK_URL'],
        ['an ftp: URL', { url: 'ftp://example.com/hook' }, 'INVALID_WEBHOOK_URL'],
        ['a javascript: URL', { url: 'javascript:alert(1)' }, 'INVALID_WEBHOOK_URL'],
        ['a URL with credentials', { url: 'https://user:pass@example.com/hook' }, 'INVALID_WEBHOOK_URL'],
        ['a URL with a user name alone', { url: 'https://user@example.com/hook' }, 'INVALID_WEBHOOK_URL'],
        ['a URL with a fragment', { url: 'https://example.com/hook#frag' }, 'INVALID_WEBHOOK_URL'],
        ['no URL', {}, 'VALIDATION_FAILED', 'url'],
        ['an empty URL', { url: '' }, 'VALIDATION_FAILED', 'url'],
        ['a URL that is not a string', { url: 42 }, 'VALIDATION_FAILED', 'url'],
        ['a URL over 2048 characters', { url: `https://example.com/${'a'.repeat(2048)}` }, 'VALIDATION_FAILED', 'url'],
        ['an unknown event type', { url: sink.url, event_types: ['user.exploded'] }, 'VALIDATION_FAILED', 'event_types.0'],
        ['an unknown event type beside a known one', { url: sink.url, event_types: ['user.locked', 'user.*'] }, 'VALIDATION_FAILED', 'event_types.1'],
        ['no event type', { url: sink.url, event_types: [] }, 'VALIDATION_FAILED', 'event_types'],
        ['event types as a string', { url: sink.url, event_types: 'user.locked' }, 'VALIDATION_FAILED', 'event_types'],
        ['a secret of its own choosing', { url: sink.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, 'VALIDATION_FAILED'],
        ['an unknown field', { url: sink.url, colour: 'blue' }, 'VALIDATION_FAILED'],
        ['enabled as a string', { url: sink.url, enabled: 'yes' }, 'VALIDATION_FAILED', 'enabled'],
        ['a 501-character description', { url: sink.url, description: 'd'.repeat(501) }, 'VALIDATION_FAILED', 'description'],
      ];
      for (const [what, fields, code, field] of cases) {
        const r = await api('POST', '/webhooks', { reason: REASON, ...fields });
        expectProblem(r, 400, code, what);
        if (field) expect({ what, fields: r.body.errors.map((e: { field: string }) => e.field) }).toEqual({ what, fields: expect.arrayContaining([field]) });
      }
      expect(await list()).toEqual(before);
      expect(await newestAuditId()).toBe(auditBefore);
    });
  });

  it('every state-changing call refuses a missing, empty, blank or 501-character reason with 400 VALIDATION_FAILED, and changes nothing', async () => {
    const { subscription } = await create({ url: sink.url });
    const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'set-up' });
    expect(test.status).toBe(202);
    const delivered = await deliveryWhen(test.body.delivery_id, (d) => d.status === 'delivered', 'the set-up delivery');
    const sinkBefore = sink.received.length;
    const listBefore = await list();
    const auditBefore = await newestAuditId();

    const calls: [string, string, Record<string, unknown>][] = [
      ['POST', '/webhooks', { url: sink.url }],
      ['PATCH', `/webhooks/${subscription.id}`, { description: 'changed', enabled: false }],
      ['DELETE', `/webhooks/${subscription.id}`, {}],
      ['POST', `/webhooks/${subscription.id}/rotate-secret`, {}],
      ['POST', `/webhooks/${subscription.id}/test`, {}],
      ['POST', `/deliveries/${delivered.id}/redeliver`, {}],
      ['POST', `/webhooks/${subscription.id}/redeliver-failed`, { since: '2000-01-01T00:00:00Z' }],
    ];
    const badReasons: [string, (rest: Record<string, unknown>) => unknown][] = [
      ['no body at all', () => undefined],
      ['no reason', (rest) => ({ ...rest })],
      ['a null reason', (rest) => ({ ...rest, reason: null })],
      ['an empty reason', (rest) => ({ ...rest, reason: '' })],
      ['a whitespace-only reason', (rest) => ({ ...rest, reason: ' \t\n ' })],
      ['a 501-character reason', (rest) => ({ ...rest, reason: 'x'.repeat(501) })],
    ];
    for (const [method, path, rest] of calls) {
      for (const [what, body] of badReasons) {
        const label = `${method} ${path} with ${what}`;
        const r = await api(method, path, body(rest));
        expectProblem(r, 400, 'VALIDATION_FAILED', label);
        expect({ label, fields: r.body.errors.map((e: { field: string }) => e.field) }).toEqual({ label, fields: expect.arrayContaining(['reason']) });
      }
    }

    await sleep(500);
    expect(await list()).toEqual(listBefore);
    expect(await get(subscription.id)).toEqual(listBefore.find((x) => x.id === subscription.id));
    const after = await delivery(delivered.id);
    expect(after).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(after.attempt_log).toHaveLength(1);
    expect(sink.received.length).toBe(sinkBefore);
    expect(await newestAuditId()).toBe(auditBefore);
  }, 60_000);

  it('audits every change with the admin, the reason and the request id', async () => {
    const created = await api('POST', '/webhooks', { reason: 'ticket OPS-1: new subscriber', url: sink.url, event_types: ['user.locked'] });
    expect(created.status).toBe(201);
    const id = created.body.subscription.id as string;
    const webhook = { type: 'webhook', id };
    const first = await expectAudited(created, { action: 'webhook.created', target: webhook, actor: adminActor(), reason: 'ticket OPS-1: new subscriber' });
    expect(first.data).toEqual({ url: sink.url, event_types: ['user.locked'], enabled: true });

    const patched = await api('PATCH', `/webhooks/${id}`, { reason: 'ticket OPS-2: more events', event_types: ['user.locked', 'user.unlocked'], description: 'sink' });
    expect(patched.status).toBe(200);
    const updated = await expectAudited(patched, { action: 'webhook.updated', target: webhook, actor: adminActor(), reason: 'ticket OPS-2: more events' });
    expect(updated.data).toEqual({ event_types: ['user.locked', 'user.unlocked'], description: 'sink' });

    const rotated = await api('POST', `/webhooks/${id}/rotate-secret`, { reason: 'ticket OPS-3: secret leaked' });
    expect(rotated.status).toBe(200);
    const rotation = await expectAudited(rotated, { action: 'webhook.secret_rotated', target: webhook, actor: adminActor(), reason: 'ticket OPS-3: secret leaked' });
    expectNoSecret(rotation, rotated.body.secret);
    expectNoSecret(rotation, created.body.secret);

    const tested = await api('POST', `/webhooks/${id}/test`, { reason: 'ticket OPS-4: checking the endpoint' });
    expect(tested.status).toBe(202);
    expect(tested.body.delivery_id).toMatch(/^[0-9a-f-]{36}$/);
    const testEntry = await expectAudited(tested, { action: 'webhook.tested', target: webhook, actor: adminActor(), reason: 'ticket OPS-4: checking the endpoint' });
    const d = await deliveryWhen(tested.body.delivery_id, (x) => x.status === 'delivered', 'the test delivery');
    expect(d).toMatchObject({ event_type: 'webhook.test', subscription_id: id, audit_id: testEntry.id });

    const redelivered = await api('POST', `/deliveries/${d.id}/redeliver`, { reason: 'ticket OPS-5: receiver lost it' });
    expect(redelivered.status).toBe(202);
    const one = await expectAudited(redelivered, { action: 'webhook.redelivered', target: { type: 'webhook_delivery', id: d.id }, actor: adminActor(), reason: 'ticket OPS-5: receiver lost it' });
    expect(one.data).toEqual({ subscription_id: id });
    await deliveryWhen(d.id, (x) => x.status === 'delivered' && x.attempts === 2, 'the redelivery');

    const since = new Date(Date.now() - 60_000).toISOString();
    const bulk = await api('POST', `/webhooks/${id}/redeliver-failed`, { reason: 'ticket OPS-6: outage over', since });
    expect(bulk.status).toBe(202);
    expect(bulk.body).toEqual({ redelivering: 0 });
    const bulkEntry = await expectAudited(bulk, { action: 'webhook.redelivered', target: webhook, actor: adminActor(), reason: 'ticket OPS-6: outage over' });
    expect(bulkEntry.data).toEqual({ since, deliveries: 0 });

    const deleted = await api('DELETE', `/webhooks/${id}`, { reason: 'ticket OPS-7: service retired' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ done: true });
    await expectAudited(deleted, { action: 'webhook.deleted', target: webhook, actor: adminActor(), reason: 'ticket OPS-7: service retired' });

    // The whole history of the subscription, newest first.
    const history = await w.auditPage(`?target=${id}`);
    expect(history.map((e) => [e.action, e.reason])).toEqual([
      ['webhook.deleted', 'ticket OPS-7: service retired'],
      ['webhook.redelivered', 'ticket OPS-6: outage over'],
      ['webhook.tested', 'ticket OPS-4: checking the endpoint'],
      ['webhook.secret_rotated', 'ticket OPS-3: secret leaked'],
      ['webhook.updated', 'ticket OPS-2: more events'],
      ['webhook.created', 'ticket OPS-1: new subscriber'],
    ]);
  }, 60_000);

  describe('who may call', () => {
    const fixture = async () => {
      const { subscription } = await create({ url: sink.url });
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'set-up' });
      const d = await deliveryWhen(test.body.delivery_id, (x) => x.status === 'delivered', 'the set-up delivery');
      const routes: [string, string, unknown?][] = [
        ['GET', '/webhooks'],
        ['POST', '/webhooks', { reason: 'r', url: sink.url }],
        ['GET', `/webhooks/${subscription.id}`],
        ['PATCH', `/webhooks/${subscription.id}`, { reason: 'r', enabled: false }],
        ['DELETE', `/webhooks/${subscription.id}`, { reason: 'r' }],
        ['POST', `/webhooks/${subscription.id}/rotate-secret`, { reason: 'r' }],
        ['POST', `/webhooks/${subscription.id}/test`, { reason: 'r' }],
        ['GET', `/webhooks/${subscription.id}/deliveries`],
        ['POST', `/webhooks/${subscription.id}/redeliver-failed`, { reason: 'r', since: '2000-01-01T00:00:00Z' }],
        ['GET', `/deliveries/${d.id}`],
        ['POST', `/deliveries/${d.id}/redeliver`, { reason: 'r' }],
      ];
      return { subscription: await get(subscription.id), delivery: d, routes };
    };

    const expectNothingChanged = async (f: Awaited<ReturnType<typeof fixture>>, listBefore: Subscription[], auditBefore: string, sinkBefore: number) => {
      await sleep(300);
      expect(await list()).toEqual(listBefore);
      expect(await get(f.subscription.id)).toEqual(f.subscription);
      expect(await delivery(f.delivery.id)).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(sink.received.length).toBe(sinkBefore);
      expect(await newestAuditId()).toBe(auditBefore);
    };

    it('security staff get 403 ROLE_REQUIRED on every webhook route, yet read a revocation’s deliveries', async () => {
      const f = await fixture();
      const listBefore = await list();
      const auditBefore = await newestAuditId();
      const sinkBefore = sink.received.length;
      for (const [method, path, body] of f.routes) expectProblem(await call(s.t, method, path, s.securityToken, body), 403, 'ROLE_REQUIRED', `${method} ${path}`);
      await expectNothingChanged(f, listBefore, auditBefore, sinkBefore);

      const { user, auditId } = await lockSomeone();
      const mine = await eventually(async () => {
        const r = await call(s.t, 'GET', `/audit/${auditId}/deliveries`, s.securityToken);
        expect(r.status).toBe(200);
        return r.body.deliveries.find((x: Delivery) => x.subscription_id === f.subscription.id && x.status === 'delivered') as Delivery | undefined;
      }, 10_000, 'the lock delivered to the subscription');
      expect(mine).toMatchObject({ event_type: 'user.locked', audit_id: auditId });
      const r = await call(s.t, 'GET', `/audit/${auditId}/deliveries`, s.securityToken);
      expect(r.body.events).toEqual([expect.objectContaining({ type: 'user.locked', body: expect.objectContaining({ data: expect.objectContaining({ subject: { type: 'user', id: user.id } }) }) })]);
    });

    it('a user without a staff role gets 403 on every webhook route and on a revocation’s deliveries', async () => {
      const f = await fixture();
      const listBefore = await list();
      const auditBefore = await newestAuditId();
      const sinkBefore = sink.received.length;
      for (const [method, path, body] of [...f.routes, ['GET', `/audit/${auditBefore}/deliveries`] as [string, string]]) {
        expectProblem(await call(s.t, method, path, s.plainToken, body), 403, 'ROLE_REQUIRED', `${method} ${path}`);
      }
      await expectNothingChanged(f, listBefore, auditBefore, sinkBefore);
    });

    it('without a token every route answers 401 with a bearer challenge', async () => {
      const f = await fixture();
      const listBefore = await list();
      const auditBefore = await newestAuditId();
      const sinkBefore = sink.received.length;
      for (const [method, path, body] of [...f.routes, ['GET', `/audit/${auditBefore}/deliveries`] as [string, string]]) {
        const r = await call(s.t, method, path, null, body);
        expect({ route: `${method} ${path}`, status: r.status }).toEqual({ route: `${method} ${path}`, status: 401 });
        expect(r.contentType).toMatch(/^application\/problem\+json/);
        expect(r.challenge).toMatch(/^Bearer /);
      }
      await expectNothingChanged(f, listBefore, auditBefore, sinkBefore);
    });
  });

  it('answers 404 WEBHOOK_NOT_FOUND for an unknown subscription and DELIVERY_NOT_FOUND for an unknown delivery, recording nothing', async () => {
    const listBefore = await list();
    const auditBefore = await newestAuditId();
    for (const id of [randomUUID(), 'not-a-uuid', '00000000-0000-0000-0000-00000000000g', '12345']) {
      expectProblem(await api('GET', `/webhooks/${id}`), 404, 'WEBHOOK_NOT_FOUND', `GET ${id}`);
      expectProblem(await api('PATCH', `/webhooks/${id}`, { reason: 'r', description: 'x' }), 404, 'WEBHOOK_NOT_FOUND', `PATCH ${id}`);
      expectProblem(await api('DELETE', `/webhooks/${id}`, { reason: 'r' }), 404, 'WEBHOOK_NOT_FOUND', `DELETE ${id}`);
      expectProblem(await api('POST', `/webhooks/${id}/rotate-secret`, { reason: 'r' }), 404, 'WEBHOOK_NOT_FOUND', `rotate ${id}`);
      expectProblem(await api('POST', `/webhooks/${id}/test`, { reason: 'r' }), 404, 'WEBHOOK_NOT_FOUND', `test ${id}`);
      expectProblem(await api('GET', `/webhooks/${id}/deliveries`), 404, 'WEBHOOK_NOT_FOUND', `deliveries ${id}`);
      expectProblem(await api('POST', `/webhooks/${id}/redeliver-failed`, { reason: 'r', since: '2000-01-01T00:00:00Z' }), 404, 'WEBHOOK_NOT_FOUND', `redeliver-failed ${id}`);
      expectProblem(await api('GET', `/deliveries/${id}`), 404, 'DELIVERY_NOT_FOUND', `GET delivery ${id}`);
      expectProblem(await api('POST', `/deliveries/${id}/redeliver`, { reason: 'r' }), 404, 'DELIVERY_NOT_FOUND', `redeliver ${id}`);
    }
    // A subscription id is no delivery id, and the other way round.
    const { subscription } = await create({ url: sink.url });
    expectProblem(await api('GET', `/deliveries/${subscription.id}`), 404, 'DELIVERY_NOT_FOUND');
    const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'set-up' });
    expectProblem(await api('GET', `/webhooks/${test.body.delivery_id}`), 404, 'WEBHOOK_NOT_FOUND');
    expect((await list()).length).toBe(listBefore.length + 1);
    // The two audit rows are the set-up's own.
    expect((await w.auditPage('?limit=3')).filter((e) => BigInt(e.id) > BigInt(auditBefore)).map((e) => e.action)).toEqual(['webhook.tested', 'webhook.created']);
  });

  describe('changing', () => {
    it('PATCH changes url, description, event types and enabled; ["*"] means every type; the changes decide which events are delivered', async () => {
      const { subscription: s0 } = await create({ url: sink.url, description: 'first', event_types: ['user.locked'] });
      const p1 = await api('PATCH', `/webhooks/${s0.id}`, { reason: 'moved', url: `${sink.url}?v=2`, description: 'second', event_types: ['user.unlocked', 'user.unlocked', 'session.revoked'] });
      expect(p1.status).toBe(200);
      const s1 = p1.body.subscription as Subscription;
      expect(s1).toEqual({ ...s0, url: `${sink.url}?v=2`, description: 'second', event_types: ['user.unlocked', 'session.revoked'], updated_at: expect.any(String) });
      expect(Date.parse(s1.updated_at)).toBeGreaterThanOrEqual(Date.parse(s0.updated_at));
      expect(await get(s0.id)).toEqual(s1);
      expect((await expectAudited(p1, { action: 'webhook.updated', target: { type: 'webhook', id: s0.id }, actor: adminActor(), reason: 'moved' })).data).toEqual({
        url: `${sink.url}?v=2`,
        description: 'second',
        event_types: ['user.unlocked', 'session.revoked'],
      });

      const all = await api('PATCH', `/webhooks/${s0.id}`, { reason: 'everything', event_types: ['*'] });
      expect(all.body.subscription).toMatchObject({ event_types: ['*'], url: `${sink.url}?v=2`, description: 'second', enabled: true });
      expect((await sql<{ event_types: string[] | null }>(s.t, 'SELECT event_types FROM webhook_subscriptions WHERE id = $1', [s0.id]))[0].event_types).toBeNull();
      const mixed = await api('PATCH', `/webhooks/${s0.id}`, { reason: 'still everything', event_types: ['user.locked', '*'] });
      expect(mixed.body.subscription.event_types).toEqual(['*']);

      // Turned off by staff: no reason of Latchkey's, and it hears nothing.
      const off = await api('PATCH', `/webhooks/${s0.id}`, { reason: 'maintenance', enabled: false });
      expect(off.body.subscription).toMatchObject({ enabled: false, disabled_reason: null, event_types: ['*'], url: `${sink.url}?v=2`, description: 'second' });
      // A test event still reaches it (that subscription alone, enabled or not).
      const probe = await api('POST', `/webhooks/${s0.id}/test`, { reason: 'probe while off' });
      expect(probe.status).toBe(202);
      expect(await deliveryWhen(probe.body.delivery_id, (d) => d.status !== 'pending', 'the test delivery')).toMatchObject({ status: 'delivered', url: `${sink.url}?v=2` });
      const whileOff = await lockSomeone();
      const offDeliveries = (await api('GET', `/audit/${whileOff.auditId}/deliveries`)).body.deliveries as Delivery[];
      expect(offDeliveries.length).toBeGreaterThan(0);
      expect(offDeliveries.map((d) => d.subscription_id)).not.toContain(s0.id);

      // On again, for unlocks alone: a lock passes it by, the unlock reaches it.
      const on = await api('PATCH', `/webhooks/${s0.id}`, { reason: 'back', enabled: true, event_types: ['user.unlocked'] });
      expect(on.body.subscription).toMatchObject({ enabled: true, event_types: ['user.unlocked'] });
      const locked = await lockSomeone();
      expect(((await api('GET', `/audit/${locked.auditId}/deliveries`)).body.deliveries as Delivery[]).map((d) => d.subscription_id)).not.toContain(s0.id);
      const unlock = await api('POST', `/users/${locked.user.id}/unlock`, { reason: 'cleared' });
      expect(unlock.status).toBe(200);
      const unlockDeliveries = (await api('GET', `/audit/${unlock.body.audit_id}/deliveries`)).body.deliveries as Delivery[];
      expect(unlockDeliveries.find((d) => d.subscription_id === s0.id)).toMatchObject({ event_type: 'user.unlocked', url: `${sink.url}?v=2` });

      // Refused changes change nothing.
      const current = await get(s0.id);
      const auditBefore = await newestAuditId();
      const refused: [string, Record<string, unknown>, string][] = [
        ['an ftp: URL', { url: 'ftp://example.com/' }, 'INVALID_WEBHOOK_URL'],
        ['a URL with credentials', { url: 'http://a:b@example.com/' }, 'INVALID_WEBHOOK_URL'],
        ['not a URL', { url: 'example.com/hook' }, 'INVALID_WEBHOOK_URL'],
        ['an empty URL', { url: '' }, 'VALIDATION_FAILED'],
        ['an unknown event type', { event_types: ['user.deleted'] }, 'VALIDATION_FAILED'],
        ['no event type', { event_types: [] }, 'VALIDATION_FAILED'],
        ['event types null', { event_types: null }, 'VALIDATION_FAILED'],
        ['a secret', { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, 'VALIDATION_FAILED'],
        ['disabled_reason', { disabled_reason: 'nope' }, 'VALIDATION_FAILED'],
        ['enabled as a string', { enabled: 'false' }, 'VALIDATION_FAILED'],
        ['a description that is not a string', { description: 7 }, 'VALIDATION_FAILED'],
      ];
      for (const [what, fields, code] of refused) expectProblem(await api('PATCH', `/webhooks/${s0.id}`, { reason: REASON, ...fields }), 400, code, what);
      expect(await get(s0.id)).toEqual(current);
      expect(await newestAuditId()).toBe(auditBefore);
    }, 60_000);

    it('enabling a subscription that Latchkey disabled (410 Gone) clears disabled_reason and failing_since', async () => {
      const gone = await receiver();
      gone.script = [410];
      const { subscription, secret } = await create({ url: gone.url, event_types: ['user.locked'] });
      gone.secrets = [secret];
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
      expect(test.status).toBe(202);
      const disabled = await eventually(async () => {
        const x = await get(subscription.id);
        return x.enabled ? null : x;
      }, 15_000, 'the 410 to disable the subscription');
      expect(disabled.disabled_reason).toMatch(/410/);
      expect(disabled.failing_since).toEqual(expect.any(String));
      expect(await delivery(test.body.delivery_id)).toMatchObject({ status: 'failed', last_status: 410, attempts: 1 });
      const [entry] = await w.auditPage(`?action=webhook.disabled&target=${subscription.id}`);
      expect(entry).toMatchObject({ actor: { type: 'system', id: null }, target: { type: 'webhook', id: subscription.id } });

      const enabled = await api('PATCH', `/webhooks/${subscription.id}`, { reason: 'the receiver is back', enabled: true });
      expect(enabled.status).toBe(200);
      expect(enabled.body.subscription).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
      expect(await get(subscription.id)).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });

      // And it hears events again.
      const { user } = await lockSomeone();
      const [got] = await gone.waitFor((r) => r.body.type === 'user.locked' && r.body.data.subject.id === user.id);
      expect(got.verified).toEqual([true]);
    }, 30_000);

    it('DELETE removes the subscription (then 404) and its deliveries with their attempts', async () => {
      const r = await receiver();
      const { subscription, secret } = await create({ url: r.url });
      r.secrets = [secret];
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
      const d = await deliveryWhen(test.body.delivery_id, (x) => x.status === 'delivered', 'the test delivery');
      const count = async (table: string, column: string, id: string) => Number((await sql<{ n: string }>(s.t, `SELECT count(*)::text AS n FROM ${table} WHERE ${column} = $1`, [id]))[0].n);
      expect(await count('webhook_deliveries', 'subscription_id', subscription.id)).toBe(1);
      expect(await count('webhook_attempts', 'delivery_id', d.id)).toBe(1);

      const deleted = await api('DELETE', `/webhooks/${subscription.id}`, { reason: 'retired' });
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ done: true });
      expectProblem(await api('GET', `/webhooks/${subscription.id}`), 404, 'WEBHOOK_NOT_FOUND');
      expect((await list()).map((x) => x.id)).not.toContain(subscription.id);
      expectProblem(await api('GET', `/deliveries/${d.id}`), 404, 'DELIVERY_NOT_FOUND');
      expectProblem(await api('GET', `/webhooks/${subscription.id}/deliveries`), 404, 'WEBHOOK_NOT_FOUND');
      expectProblem(await api('POST', `/deliveries/${d.id}/redeliver`, { reason: 'r' }), 404, 'DELIVERY_NOT_FOUND');
      expect(await count('webhook_subscriptions', 'id', subscription.id)).toBe(0);
      expect(await count('webhook_deliveries', 'subscription_id', subscription.id)).toBe(0);
      expect(await count('webhook_attempts', 'delivery_id', d.id)).toBe(0);
      expect(((await api('GET', `/audit/${d.audit_id}/deliveries`)).body.deliveries as Delivery[]).map((x) => x.id)).not.toContain(d.id);
      await expectAudited(deleted, { action: 'webhook.deleted', target: { type: 'webhook', id: subscription.id }, actor: adminActor(), reason: 'retired' });

      // Gone for good: a second DELETE is a 404, and a lock reaches it no more.
      expectProblem(await api('DELETE', `/webhooks/${subscription.id}`, { reason: 'again' }), 404, 'WEBHOOK_NOT_FOUND');
      const before = r.received.length;
      const { auditId } = await lockSomeone();
      expect(((await api('GET', `/audit/${auditId}/deliveries`)).body.deliveries as Delivery[]).map((x) => x.subscription_id)).not.toContain(subscription.id);
      await sleep(500);
      expect(r.received.length).toBe(before);
    }, 30_000);

    it('rotate-secret returns a new secret; the old one keeps signing beside it until WEBHOOK_SECRET_GRACE (1h) has passed', async () => {
      const r = await receiver();
      const { subscription, secret: first } = await create({ url: r.url });
      const [sealedBefore] = await sql<{ secret_enc: string }>(s.t, 'SELECT secret_enc FROM webhook_subscriptions WHERE id = $1', [subscription.id]);

      const before = Date.now();
      const rotated = await api('POST', `/webhooks/${subscription.id}/rotate-secret`, { reason: 'scheduled rotation' });
      const after = Date.now();
      expect(rotated.status).toBe(200);
      expect(Object.keys(rotated.body).sort()).toEqual(['secret', 'subscription']);
      const second = rotated.body.secret as string;
      expect(second).toMatch(SECRET);
      expect(second).not.toBe(first);
      const until = Date.parse(rotated.body.subscription.previous_secret_until);
      expect(until).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(until).toBeLessThanOrEqual(after + 3600_000 + 1000);
      expect(rotated.body.subscription).toMatchObject({ id: subscription.id, url: r.url, event_types: ['*'], enabled: true });
      expectNoSecret(rotated.body.subscription, second);

      const shown = await get(subscription.id);
      expect(shown.previous_secret_until).toBe(rotated.body.subscription.previous_secret_until);
      expectNoSecret(shown, second);
      expectNoSecret(shown, first);
      const [row] = await sql<{ secret_enc: string; previous_secret_enc: string }>(s.t, 'SELECT secret_enc, previous_secret_enc FROM webhook_subscriptions WHERE id = $1', [subscription.id]);
      expect(row.previous_secret_enc).toBe(sealedBefore.secret_enc);
      expect(row.secret_enc).not.toBe(sealedBefore.secret_enc);
      expect(row.secret_enc).not.toContain(second.slice('whsec_'.length));
      const entry = await expectAudited(rotated, { action: 'webhook.secret_rotated', target: { type: 'webhook', id: subscription.id }, actor: adminActor(), reason: 'scheduled rotation' });
      expect(entry.data).toEqual({ previous_secret_until: rotated.body.subscription.previous_secret_until });

      // During the grace both secrets sign: a subscriber holding either verifies.
      r.secrets = [first, second];
      expect((await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' })).status).toBe(202);
      const [signedTwice] = await r.waitFor();
      expect(signedTwice.verified).toEqual([true, true]);
      expect(String(signedTwice.headers['webhook-signature']).split(' ')).toHaveLength(2);

      // Rotating again retires the first secret: the second and the third sign.
      const again = await api('POST', `/webhooks/${subscription.id}/rotate-secret`, { reason: 'rotate again' });
      expect(again.status).toBe(200);
      const third = again.body.secret as string;
      expect(new Set([first, second, third]).size).toBe(3);
      r.secrets = [first, second, third];
      expect((await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' })).status).toBe(202);
      const [, afterTwo] = await r.waitFor(() => true, 2);
      expect(afterTwo.verified).toEqual([false, true, true]);
    }, 30_000);
  });

  describe('deliveries', () => {
    it('lists a lock’s delivery (delivered, the webhook-id the receiver saw, its latency), pages with next_cursor, filters by status; one delivery shows its attempt; the audit entry shows its event and deliveries', async () => {
      const r = await receiver();
      const { subscription, secret } = await create({ url: r.url, event_types: ['user.locked'] });
      r.secrets = [secret];
      const deliveriesOf = async (query = '') => {
        const res = await api('GET', `/webhooks/${subscription.id}/deliveries${query}`);
        expect(res.status).toBe(200);
        return res.body as { items: Delivery[]; next_cursor: string | null };
      };
      const deliveredFor = (auditId: string) =>
        eventually(async () => (await deliveriesOf()).items.find((d) => d.audit_id === auditId && d.status === 'delivered'), 15_000, `the delivery of audit entry ${auditId}`);

      const first = await lockSomeone('first lock');
      const [seen] = await r.waitFor((x) => x.body.data.subject.id === first.user.id);
      expect(seen.verified).toEqual([true]);
      const d1 = await deliveredFor(first.auditId);
      expect(d1).toMatchObject({
        webhook_id: seen.headers['webhook-id'],
        event_type: 'user.locked',
        audit_id: first.auditId,
        subscription_id: subscription.id,
        url: r.url,
        status: 'delivered',
        attempts: 1,
        next_attempt_at: null,
        last_status: 204,
        last_error: null,
      });
      expect(d1.webhook_id).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(typeof d1.latency_ms).toBe('number');
      expect(d1.latency_ms).toBeGreaterThanOrEqual(0);
      expect(d1.latency_ms).toBe(Date.parse(d1.delivered_at!) - Date.parse(d1.created_at));

      const second = await lockSomeone('second lock');
      const d2 = await deliveredFor(second.auditId);
      const [seen2] = await r.waitFor((x) => x.body.data.subject.id === second.user.id);
      expect(d2.webhook_id).toBe(seen2.headers['webhook-id']);
      expect(d2.webhook_id).not.toBe(d1.webhook_id);

      // Newest first; pages of one.
      const everything = await deliveriesOf();
      expect(everything.items.map((d) => d.id)).toEqual([d2.id, d1.id]);
      expect(everything.next_cursor).toBeNull();
      const page1 = await deliveriesOf('?limit=1');
      expect(page1.items.map((d) => d.id)).toEqual([d2.id]);
      expect(page1.next_cursor).toEqual(expect.any(String));
      const page2 = await deliveriesOf(`?limit=1&cursor=${page1.next_cursor}`);
      expect(page2.items.map((d) => d.id)).toEqual([d1.id]);
      expect(page2.next_cursor).toBeNull();

      // Filtered by status.
      expect((await deliveriesOf('?status=delivered')).items.map((d) => d.id)).toEqual([d2.id, d1.id]);
      expect((await deliveriesOf('?status=failed')).items).toEqual([]);
      expect((await deliveriesOf('?status=retrying')).items).toEqual([]);
      expect((await deliveriesOf('?status=pending')).items).toEqual([]);
      expect((await deliveriesOf('?status=delivered&limit=1')).items.map((d) => d.id)).toEqual([d2.id]);
      for (const bad of ['?status=lost', '?limit=0', '?limit=201', '?limit=x', '?cursor=not-a-cursor']) {
        expectProblem(await api('GET', `/webhooks/${subscription.id}/deliveries${bad}`), 400, 'VALIDATION_FAILED', bad);
      }

      // One delivery, with its one attempt.
      const one = await delivery(d1.id);
      expect(one).toMatchObject({ id: d1.id, webhook_id: d1.webhook_id, status: 'delivered', attempts: 1, latency_ms: d1.latency_ms });
      expect(one.attempt_log).toHaveLength(1);
      // A 204 has no body: nothing to excerpt.
      expect(one.attempt_log![0]).toMatchObject({ number: 1, status: 204, error: null, manual: false, response_excerpt: '' });
      expect(one.attempt_log![0].duration_ms).toEqual(expect.any(Number));

      // The lock's audit entry: its event, and its delivery with the attempt.
      const incident = await api('GET', `/audit/${first.auditId}/deliveries`);
      expect(incident.status).toBe(200);
      expect(incident.body.events).toEqual([{ id: d1.event_id, type: 'user.locked', body: seen.body }]);
      const mine = (incident.body.deliveries as Delivery[]).find((d) => d.subscription_id === subscription.id);
      expect(mine).toMatchObject({ id: d1.id, webhook_id: d1.webhook_id, status: 'delivered', event_id: d1.event_id });
      expect(mine!.attempt_log).toEqual(one.attempt_log);
      expect((incident.body.deliveries as Delivery[]).every((d) => d.audit_id === first.auditId)).toBe(true);

      // An audit entry that emitted nothing, and one that cannot be.
      const [created] = await w.auditPage(`?action=webhook.created&target=${subscription.id}`);
      expect((await api('GET', `/audit/${created.id}/deliveries`)).body).toEqual({ events: [], deliveries: [] });
      expect((await api('GET', '/audit/not-an-id/deliveries')).body).toEqual({ events: [], deliveries: [] });
    }, 60_000);

    it('answers 404 DELIVERY_NOT_FOUND for a deliveries cursor that names no delivery, rather than an empty page', async () => {
      // The route documents DELIVERY_NOT_FOUND, and WebhooksService.deliveriesOf means it for "the
      // cursor names no delivery": a well-formed but unknown cursor must not look like the last page.
      const { subscription } = await create({ url: sink.url, event_types: ['webhook.test'] });
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
      await deliveryWhen(test.body.delivery_id, (d) => d.status === 'delivered', 'the test delivery');
      expect((await api('GET', `/webhooks/${subscription.id}/deliveries`)).body.items.map((d: Delivery) => d.id)).toEqual([test.body.delivery_id]);
      expectProblem(await api('GET', `/webhooks/${subscription.id}/deliveries?cursor=${randomUUID()}`), 404, 'DELIVERY_NOT_FOUND');
    });

    it('redelivers a delivered delivery: the receiver gets it again with the same webhook-id, logged as a second, manual attempt', async () => {
      const r = await receiver();
      const { subscription, secret } = await create({ url: r.url, event_types: ['user.locked'] });
      r.secrets = [secret];
      const { user, auditId } = await lockSomeone();
      const [firstSeen] = await r.waitFor((x) => x.body.data.subject.id === user.id);
      const d = await eventually(async () => (await api('GET', `/webhooks/${subscription.id}/deliveries?status=delivered`)).body.items.find((x: Delivery) => x.audit_id === auditId) as Delivery | undefined, 15_000, 'the delivery');

      const re = await api('POST', `/deliveries/${d.id}/redeliver`, { reason: 'receiver lost its database' });
      expect(re.status).toBe(202);
      expect(re.body.delivery).toMatchObject({ id: d.id, webhook_id: d.webhook_id, event_id: d.event_id, subscription_id: subscription.id });
      expect(['pending', 'delivered']).toContain(re.body.delivery.status);

      const both = await r.waitFor((x) => x.headers['webhook-id'] === firstSeen.headers['webhook-id'], 2);
      expect(both).toHaveLength(2);
      expect(both[1].verified).toEqual([true]);
      expect(both[1].body).toEqual(firstSeen.body);

      const after = await deliveryWhen(d.id, (x) => x.attempt_log?.length === 2 && x.status === 'delivered', 'the manual attempt');
      expect(after).toMatchObject({ attempts: 2, last_status: 204, webhook_id: d.webhook_id });
      expect(after.attempt_log!.map((a) => ({ number: a.number, status: a.status, manual: a.manual }))).toEqual([
        { number: 1, status: 204, manual: false },
        { number: 2, status: 204, manual: true },
      ]);
      await expectAudited(re, { action: 'webhook.redelivered', target: { type: 'webhook_delivery', id: d.id }, actor: adminActor(), reason: 'receiver lost its database' });
    }, 30_000);

    it('refuses to redeliver to a disabled subscription with 409 WEBHOOK_DISABLED, and redelivers once it is enabled again', async () => {
      const r = await receiver();
      const { subscription, secret } = await create({ url: r.url, event_types: ['user.locked'] });
      r.secrets = [secret];
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
      expect(test.status).toBe(202);
      await deliveryWhen(test.body.delivery_id, (x) => x.status === 'delivered', 'the test');
      expect((await api('PATCH', `/webhooks/${subscription.id}`, { reason: 'paused', enabled: false })).status).toBe(200);
      const auditBefore = await newestAuditId();
      expectProblem(await api('POST', `/deliveries/${test.body.delivery_id}/redeliver`, { reason: 'again' }), 409, 'WEBHOOK_DISABLED');
      expectProblem(await api('POST', `/webhooks/${subscription.id}/redeliver-failed`, { reason: 'again', since: '2000-01-01T00:00:00Z' }), 409, 'WEBHOOK_DISABLED');
      expect(await newestAuditId()).toBe(auditBefore);
      expect((await api('PATCH', `/webhooks/${subscription.id}`, { reason: 'resumed', enabled: true })).status).toBe(200);
      for (let i = 2; i <= 3; i++) {
        expect((await api('POST', `/deliveries/${test.body.delivery_id}/redeliver`, { reason: 'again' })).status).toBe(202);
        await deliveryWhen(test.body.delivery_id, (x) => x.status === 'delivered' && x.attempts === i, `redelivery ${i}`);
      }
      expect(r.received).toHaveLength(3);
    });

    it('refuses to redeliver while an attempt is on its way with 409 DELIVERY_IN_PROGRESS', async () => {
      const r = await receiver();
      r.script = ['hang'];
      const { subscription, secret } = await create({ url: r.url, event_types: ['user.locked'] });
      r.secrets = [secret];
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
      expect(test.status).toBe(202);
      await r.waitFor();
      const auditBefore = await newestAuditId();
      const busy = await api('POST', `/deliveries/${test.body.delivery_id}/redeliver`, { reason: 'impatient' });
      expectProblem(busy, 409, 'DELIVERY_IN_PROGRESS');
      expect(await newestAuditId()).toBe(auditBefore);

      // The hung attempt times out (WEBHOOK_TIMEOUT_MS=1500); the retry (WEBHOOK_RETRY_DELAYS=1) delivers it.
      const done = await deliveryWhen(test.body.delivery_id, (x) => x.status === 'delivered', 'the retry');
      expect(done.attempt_log!.map((a) => ({ number: a.number, status: a.status, manual: a.manual }))).toEqual([
        { number: 1, status: null, manual: false },
        { number: 2, status: 204, manual: false },
      ]);
      expect(done.attempt_log![0].error).toMatch(/timed out/);
      const requests = r.received.filter((x) => x.headers['webhook-id'] === done.webhook_id);
      expect(requests).toHaveLength(2);
    }, 30_000);

    it('redeliver-failed gives each failed delivery made since `since` one more attempt', async () => {
      const r = await receiver();
      r.script = [500, 500];
      const { subscription, secret } = await create({ url: r.url, event_types: ['user.locked'] });
      r.secrets = [secret];
      const since = new Date(Date.now() - 1000).toISOString();
      const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
      expect(test.status).toBe(202);
      // Two attempts (the first and the one retry WEBHOOK_RETRY_DELAYS=1 allows), both 500: failed.
      const failed = await deliveryWhen(test.body.delivery_id, (x) => x.status === 'failed', 'the delivery to fail');
      expect(failed).toMatchObject({ attempts: 2, last_status: 500, next_attempt_at: null, delivered_at: null, latency_ms: null });
      expect(failed.attempt_log!.map((a) => ({ status: a.status, manual: a.manual, excerpt: a.response_excerpt }))).toEqual([
        { status: 500, manual: false, excerpt: 'receiver says no' },
        { status: 500, manual: false, excerpt: 'receiver says no' },
      ]);
      expect((await get(subscription.id)).failing_since).toEqual(expect.any(String));
      const byStatus = async (status: string) => ((await api('GET', `/webhooks/${subscription.id}/deliveries?status=${status}`)).body.items as Delivery[]).map((d) => d.id);
      expect(await byStatus('failed')).toEqual([failed.id]);
      expect(await byStatus('delivered')).toEqual([]);

      expectProblem(await api('POST', `/webhooks/${subscription.id}/redeliver-failed`, { reason: 'r', since: 'yesterday' }), 400, 'VALIDATION_FAILED', 'since not a date');
      expectProblem(await api('POST', `/webhooks/${subscription.id}/redeliver-failed`, { reason: 'r' }), 400, 'VALIDATION_FAILED', 'no since');

      // Nothing failed since a minute from now.
      const none = await api('POST', `/webhooks/${subscription.id}/redeliver-failed`, { reason: 'nothing to do', since: new Date(Date.now() + 60_000).toISOString() });
      expect(none.status).toBe(202);
      expect(none.body).toEqual({ redelivering: 0 });
      await sleep(500);
      expect(r.received).toHaveLength(2);

      const bulk = await api('POST', `/webhooks/${subscription.id}/redeliver-failed`, { reason: 'receiver fixed', since });
      expect(bulk.status).toBe(202);
      expect(bulk.body).toEqual({ redelivering: 1 });
      const all = await r.waitFor((x) => x.headers['webhook-id'] === failed.webhook_id, 3);
      expect(all[2].verified).toEqual([true]);
      const done = await deliveryWhen(failed.id, (x) => x.status === 'delivered', 'the redelivery');
      expect(done.attempt_log!.map((a) => ({ number: a.number, status: a.status, manual: a.manual }))).toEqual([
        { number: 1, status: 500, manual: false },
        { number: 2, status: 500, manual: false },
        { number: 3, status: 204, manual: true },
      ]);
      expect(await byStatus('failed')).toEqual([]);
      expect((await get(subscription.id)).failing_since).toBeNull();
      const entry = await expectAudited(bulk, { action: 'webhook.redelivered', target: { type: 'webhook', id: subscription.id }, actor: adminActor(), reason: 'receiver fixed' });
      expect(entry.data).toEqual({ since, deliveries: 1 });
    }, 30_000);
  });

  describe('the CLI', () => {
    const cliEnv = () =>
      cleanEnv({
        NODE_ENV: 'test',
        LOG_LEVEL: 'error',
        DATABASE_URL: s.t.database.url,
        KEY_ENCRYPTION_KEY: s.t.config.keyEncryptionKey!,
        ISSUER: s.t.url,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      });

    it('webhook:create prints the subscription and its secret; the service signs with that secret; webhook:list lists it', async () => {
      const r = await receiver();
      const created = await runCliAsync(['webhook:create', '--url', r.url, '--event', 'user.locked', '--description', 'from the CLI', '--reason', 'ticket OPS-9', '--json'], cliEnv());
      expect({ status: created.status, stderr: created.stderr }).toEqual({ status: 0, stderr: '' });
      const out = JSON.parse(created.stdout) as { subscription: Subscription; secret: string };
      expect(Object.keys(out).sort()).toEqual(['secret', 'subscription']);
      expect(out.secret).toMatch(SECRET);
      expect(out.subscription).toMatchObject({ url: r.url, description: 'from the CLI', event_types: ['user.locked'], enabled: true, disabled_reason: null });

      // The service sees it, audited as the system with the reason given.
      expect(await get(out.subscription.id)).toEqual(out.subscription);
      await expectAudited(null, { action: 'webhook.created', target: { type: 'webhook', id: out.subscription.id }, actor: { type: 'system', id: null }, reason: 'ticket OPS-9' });
      const [row] = await sql<{ secret_enc: string }>(s.t, 'SELECT secret_enc FROM webhook_subscriptions WHERE id = $1', [out.subscription.id]);
      expect(row.secret_enc).not.toContain(out.secret.slice('whsec_'.length));

      // The service delivers to it, signed with the secret the CLI printed.
      r.secrets = [out.secret];
      const { user } = await lockSomeone();
      const [got] = await r.waitFor((x) => x.body.data.subject.id === user.id);
      expect(got.verified).toEqual([true]);

      const listed = await runCliAsync(['webhook:list', '--json'], cliEnv());
      expect({ status: listed.status, stderr: listed.stderr }).toEqual({ status: 0, stderr: '' });
      const webhooks = JSON.parse(listed.stdout).webhooks as Subscription[];
      expect(webhooks.find((x) => x.id === out.subscription.id)).toEqual(await get(out.subscription.id));
      expect(webhooks.map((x) => x.id).sort()).toEqual((await list()).map((x) => x.id).sort());
      expect(listed.stdout).not.toMatch(/whsec_/);

      const text = await runCliAsync(['webhook:list'], cliEnv());
      expect({ status: text.status, stderr: text.stderr }).toEqual({ status: 0, stderr: '' });
      expect(text.stdout).toMatch(new RegExp(`^${out.subscription.id}\\s+enabled\\s+user\\.locked\\s+${r.url.replace(/[.]/g, '\\.')}$`, 'm'));
    }, 90_000);

    it('webhook:create refuses an unknown --event or a bad --url with exit 2 and a one-line reason, creating nothing', async () => {
      const before = await list();
      const [unknown, asJson, badUrl, noUrl] = await Promise.all([
        runCliAsync(['webhook:create', '--url', sink.url, '--event', 'user.locked', '--event', 'user.exploded'], cliEnv()),
        runCliAsync(['webhook:create', '--url', sink.url, '--event', 'user.exploded', '--json'], cliEnv()),
        runCliAsync(['webhook:create', '--url', 'ftp://example.com/hook'], cliEnv()),
        runCliAsync(['webhook:create', '--event', 'user.locked'], cliEnv()),
      ]);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
      expect(unknown.stderr).toMatch(/unknown event type user\.exploded/);
      expect(unknown.stdout).toBe('');

      expect(asJson.status).toBe(2);
      expect(JSON.parse(asJson.stdout).error.message).toMatch(/unknown event type user\.exploded/);

      expect(badUrl.status).toBe(2);
      expect(badUrl.stderr.trim().split('\n')).toHaveLength(1);
      expect(badUrl.stderr).toMatch(/invalid webhook URL/);

      expect(noUrl.status).toBe(2);
      expect(noUrl.stderr).toMatch(/--url/);

      expect(await list()).toEqual(before);
    }, 90_000);
  });
});

describe('webhook subscriptions under the default address policy (WEBHOOK_ALLOW_PRIVATE_NETWORKS unset)', () => {
  const w = staffApi();
  const { s, api, create, list, deliveryWhen, newestAuditId } = w;
  const local = new WebhookReceiver();

  beforeAll(async () => {
    await local.start();
    await w.start({});
  });

  afterAll(async () => {
    await s.t?.close();
    await local.stop();
  });

  const FORBIDDEN = [
    'http://127.0.0.1:9/x',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f.0.0.1/',
    'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'HTTP://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a00:1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'https://[::1]:8443/hook',
  ];

  it('refuses a URL with a literal loopback, private, link-local or IPv4-mapped address with 400 INVALID_WEBHOOK_URL, creating nothing', async () => {
    const before = await list();
    const auditBefore = await newestAuditId();
    for (const url of FORBIDDEN) {
      const r = await api('POST', '/webhooks', { reason: REASON, url });
      expectProblem(r, 400, 'INVALID_WEBHOOK_URL', url);
      expect(r.body.detail).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS/);
    }
    expect(await list()).toEqual(before);
    expect(await newestAuditId()).toBe(auditBefore);
  });

  it('refuses to PATCH a subscription to such an address', async () => {
    const { subscription } = await create({ url: 'https://hooks.example.com/latchkey' });
    const auditBefore = await newestAuditId();
    for (const url of FORBIDDEN) expectProblem(await api('PATCH', `/webhooks/${subscription.id}`, { reason: REASON, url }), 400, 'INVALID_WEBHOOK_URL', url);
    expect((await api('GET', `/webhooks/${subscription.id}`)).body.subscription).toEqual(subscription);
    expect(await newestAuditId()).toBe(auditBefore);
  });

  it('accepts a hostname at creation and judges it at delivery time: localhost is refused then, and nothing is sent', async () => {
    expect((await create({ url: 'http://localhost:1/' })).subscription).toMatchObject({ url: 'http://localhost:1/', enabled: true });
    const { subscription } = await create({ url: `http://localhost:${local.port}/hook` });
    const test = await api('POST', `/webhooks/${subscription.id}/test`, { reason: 'probe' });
    expect(test.status).toBe(202);
    const refused = await deliveryWhen(test.body.delivery_id, (d) => d.attempts >= 1, 'the first attempt');
    expect(refused.status).toBe('retrying');
    expect(refused.next_attempt_at).toEqual(expect.any(String));
    expect(refused.attempt_log![0]).toMatchObject({ number: 1, status: null, manual: false });
    expect(refused.attempt_log![0].error).toMatch(/refused/);
    expect(refused.attempt_log![0].error).toMatch(/localhost/);
    // While a retry is scheduled, a manual redelivery is refused.
    expectProblem(await api('POST', `/deliveries/${refused.id}/redeliver`, { reason: 'now' }), 409, 'DELIVERY_IN_PROGRESS');
    await new Promise((r) => setTimeout(r, 300));
    expect(local.received).toEqual([]);
  });

  it('the CLI refuses a loopback URL too, with exit 2', async () => {
    const before = await list();
    const env = cleanEnv({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATABASE_URL: s.t.database.url, KEY_ENCRYPTION_KEY: s.t.config.keyEncryptionKey!, ISSUER: s.t.url });
    const r = await runCliAsync(['webhook:create', '--url', 'http://127.0.0.1:9/x', '--event', 'user.locked'], env);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/invalid webhook URL: the address is loopback/);
    expect(await list()).toEqual(before);
  }, 60_000);
});
