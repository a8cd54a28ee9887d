import { authGet, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

type User = Awaited<ReturnType<typeof createUser>>;

const claimsOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()) as Record<string, any>;
const kidOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[0], 'base64url').toString()).kid as string;
const REASON = 'webhook events e2e';

/**
 * Every revocation kind reaches a real subscriber on loopback as its event, signed so that the
 * `standardwebhooks` package verifies it, with the data the subscriber needs; a subscription that
 * chose other event types hears nothing of it.
 */
describe('webhook events: every revocation reaches its subscribers', () => {
  let t: TestApp;
  let web: TestClient;
  let admin: User;
  const all = new WebhookReceiver();
  const locksOnly = new WebhookReceiver();

  const staffToken = async () => (await login(t, web, admin)).access_token;
  const call = async (method: string, path: string, body: unknown, token?: string) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token ?? (await staffToken())}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const subscribe = async (url: string, eventTypes?: string[]) => {
    const r = await call('POST', '/admin/api/webhooks', { reason: REASON, url, ...(eventTypes ? { event_types: eventTypes } : {}) });
    expect(r.status).toBe(201);
    return r.body as { subscription: { id: string }; secret: string };
  };
  /** The one event of `type` about `subjectId` that the all-events receiver got. */
  const eventOf = async (type: string, subjectId: string) => {
    const [r] = await all.waitFor((x) => x.body.type === type && x.body.data.subject.id === subjectId);
    expect(r.verified).toEqual([true]);
    return r;
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    web = await createClient(t.app);
    admin = await createUser(t.app, { roles: ['admin'] });
    await all.start();
    await locksOnly.start();
    all.secrets = [(await subscribe(all.url)).secret];
    locksOnly.secrets = [(await subscribe(locksOnly.url, ['user.locked'])).secret];
  });

  afterAll(async () => {
    await t?.close();
    await all.stop();
    await locksOnly.stop();
  });

  it('delivers a lock as user.locked: subject, sessions, cutoff, honour_until, reason, actor, sequence, Standard Webhooks headers', async () => {
    const victim = await createUser(t.app);
    const session = await login(t, web, victim);
    const before = Date.now();
    const lock = await call('POST', `/admin/api/users/${victim.id}/lock`, { reason: 'credential stuffing' });
    expect(lock.status).toBe(200);
    expect(lock.body.audit_id).toMatch(/^\d+$/);
    expect((await authGet(t, '/userinfo', session.access_token)).status).toBe(401);

    const r = await eventOf('user.locked', victim.id);
    expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Number(r.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
    expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(r.headers['content-type']).toBe('application/json');
    const { type, timestamp, data } = r.body;
    expect(type).toBe('user.locked');
    expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(data.subject).toEqual({ type: 'user', id: victim.id });
    expect(data.sid).toEqual([claimsOf(session.access_token).sid]);
    expect(Date.parse(data.tokens_valid_after)).toBeGreaterThanOrEqual(claimsOf(session.access_token).iat * 1000);
    // Until when the last token it refuses would have lived anyway: now plus one access-token lifetime.
    const honour = Date.parse(data.honour_until);
    expect(honour).toBeGreaterThanOrEqual(claimsOf(session.access_token).exp * 1000);
    expect(honour).toBeLessThanOrEqual(Date.now() + t.config.accessTokenTtl * 1000);
    expect(data.reason).toBe('credential stuffing');
    expect(data.actor).toEqual({ type: 'admin', id: admin.id });
    expect(data.sequence).toBe(1);

    // The subscription that chose user.locked got the same event.
    const [mine] = await locksOnly.waitFor((x) => x.body.data.subject.id === victim.id);
    expect(mine.verified).toEqual([true]);
    expect(mine.body).toMatchObject({ type: 'user.locked' });

    // Unlock is the subject's next event in sequence.
    expect((await call('POST', `/admin/api/users/${victim.id}/unlock`, { reason: 'cleared' })).status).toBe(200);
    const unlocked = await eventOf('user.unlocked', victim.id);
    expect(unlocked.body.data).toMatchObject({ subject: { type: 'user', id: victim.id }, sequence: 2, honour_until: null, reason: 'cleared' });
    expect(unlocked.headers['webhook-id']).not.toBe(r.headers['webhook-id']);
  });

  it('emits user.sessions_revoked, user.roles_changed and user.password_changed', async () => {
    const u = await createUser(t.app);
    const s1 = await login(t, web, u);
    expect((await call('POST', `/admin/api/users/${u.id}/revoke-sessions`, { reason: 'sign out everywhere' })).status).toBe(200);
    const everywhere = await eventOf('user.sessions_revoked', u.id);
    expect(everywhere.body.data).toMatchObject({ sid: [claimsOf(s1.access_token).sid], reason: 'sign out everywhere' });
    expect(everywhere.body.data.tokens_valid_after).toEqual(expect.any(String));

    expect((await call('PUT', `/admin/api/users/${u.id}/roles`, { reason: 'promotion', roles: ['auditor'] })).status).toBe(200);
    const roles = await eventOf('user.roles_changed', u.id);
    expect(roles.body.data).toMatchObject({ roles: { from: [], to: ['auditor'] }, reason: 'promotion' });
    expect(roles.body.data.tokens_valid_after).toEqual(expect.any(String));

    const keep = await login(t, web, u);
    const other = await login(t, web, u);
    const changed = await call('POST', '/me/password', { current_password: u.password, new_password: 'another long enough passphrase' }, keep.access_token);
    expect(changed.status).toBe(204);
    const pw = await eventOf('user.password_changed', u.id);
    expect(pw.body.data.sid).toEqual([claimsOf(other.access_token).sid]);
    expect(pw.body.data.actor).toEqual({ type: 'user', id: u.id });
    expect(pw.body.data.sequence).toBe(3);
  });

  it('emits session.revoked (staff, self-service and logout), token.revoked and refresh_token.reuse_detected', async () => {
    const u = await createUser(t.app);
    const a = await login(t, web, u);
    const sidA = claimsOf(a.access_token).sid;
    expect((await call('POST', `/admin/api/sessions/${sidA}/revoke`, { reason: 'odd device' })).status).toBe(200);
    await all.waitFor((x) => x.body.type === 'session.revoked' && x.body.data.sid?.[0] === sidA);

    const b = await login(t, web, u);
    const sidB = claimsOf(b.access_token).sid;
    expect((await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${b.access_token}` } })).status).toBe(204);
    const [logout] = await all.waitFor((x) => x.body.type === 'session.revoked' && x.body.data.sid?.[0] === sidB);
    expect(logout.body.data).toMatchObject({ subject: { type: 'user', id: u.id }, cause: 'session.logout' });

    const c = await login(t, web, u);
    const jti = claimsOf(c.access_token).jti;
    const revoke = await fetch(`${t.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ token: c.access_token, token_type_hint: 'access_token' }).toString(),
    });
    expect(revoke.status).toBe(200);
    const [tok] = await all.waitFor((x) => x.body.type === 'token.revoked' && x.body.data.jti?.[0] === jti);
    expect(tok.body.data).toMatchObject({ subject: { type: 'user', id: u.id }, client_id: web.clientId, honour_until: new Date(claimsOf(c.access_token).exp * 1000).toISOString() });

    const d = await login(t, web, u);
    expect((await tokenRequest(t, web, { grant_type: 'refresh_token', refresh_token: d.refresh_token })).status).toBe(200);
    expect((await tokenRequest(t, web, { grant_type: 'refresh_token', refresh_token: d.refresh_token })).status).toBe(400);
    const [reuse] = await all.waitFor((x) => x.body.type === 'refresh_token.reuse_detected' && x.body.data.sid?.[0] === claimsOf(d.access_token).sid);
    expect(reuse.body.data).toMatchObject({ subject: { type: 'user', id: u.id }, actor: { type: 'system', id: null } });
  });

  it('emits client.revoked, signing_key.revoked and revocation.global', async () => {
    const app2 = await createClient(t.app, { name: 'doomed app' });
    const u = await createUser(t.app);
    const held = await login(t, app2, u);
    expect((await call('POST', `/admin/api/clients/${app2.clientId}/revoke`, { reason: 'leaked secret' })).status).toBe(200);
    const client = await eventOf('client.revoked', app2.clientId);
    expect(client.body.data).toMatchObject({ subject: { type: 'client', id: app2.clientId }, sid: [claimsOf(held.access_token).sid], reason: 'leaked secret' });
    expect(client.body.data.tokens_valid_after).toEqual(expect.any(String));

    const kid = kidOf(await staffToken());
    expect((await call('POST', `/admin/api/keys/${kid}/revoke`, { reason: 'key compromised' })).status).toBe(200);
    const key = await eventOf('signing_key.revoked', kid);
    expect(key.body.data).toMatchObject({ subject: { type: 'signing_key', id: kid }, kid, successor_kid: expect.any(String) });

    expect((await call('POST', '/admin/api/revoke-all', { reason: 'panic' })).status).toBe(200);
    const [global] = await all.waitFor((x) => x.body.type === 'revocation.global');
    expect(global.body.data).toMatchObject({ subject: { type: 'global', id: '*' }, reason: 'panic' });
    expect(global.body.data.tokens_valid_after).toEqual(expect.any(String));
  });

  it('sends webhook.test on request, to that subscription alone', async () => {
    const extra = await new WebhookReceiver().start();
    try {
      const sub = await subscribe(extra.url, ['user.locked']);
      extra.secrets = [sub.secret];
      const r = await call('POST', `/admin/api/webhooks/${sub.subscription.id}/test`, { reason: 'checking the endpoint' });
      expect(r.status).toBe(202);
      const [test] = await extra.waitFor((x) => x.body.type === 'webhook.test');
      expect(test.verified).toEqual([true]);
      expect(test.body.data.subject).toEqual({ type: 'webhook', id: sub.subscription.id });
      await new Promise((res) => setTimeout(res, 300));
      expect(all.of('webhook.test')).toHaveLength(0);
    } finally {
      await extra.stop();
    }
  });

  it('sends a subscription only the event types it chose', async () => {
    // Everything above reached the all-events receiver; the user.locked subscription got locks alone.
    expect(all.received.length).toBeGreaterThan(10);
    expect(locksOnly.received.length).toBeGreaterThan(0);
    expect(new Set(locksOnly.received.map((r) => r.body.type))).toEqual(new Set(['user.locked']));
    expect(locksOnly.received.length).toBe(all.of('user.locked').length);
  });
});
