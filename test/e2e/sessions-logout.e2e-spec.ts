import { DataSource } from 'typeorm';
import { authGet, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('sessions and logout', () => {
  let t: TestApp;
  let web: TestClient;
  let machine: TestClient;
  let db: DataSource;

  const call = (method: string, path: string, token: string) =>
    fetch(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, text: await r.text() }));

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    web = await createClient(t.app, { grants: ['password', 'refresh_token'] });
    machine = await createClient(t.app, { grants: ['client_credentials'] });
  });
  afterAll(() => t?.close());

  it('lists the live sessions of the caller, marking the current one', async () => {
    const user = await createUser(t.app);
    const a = await login(t, web, user);
    await login(t, web, user);
    const r = await authGet(t, '/me/sessions', a.access_token);
    expect(r.status).toBe(200);
    expect(r.body.sessions).toHaveLength(2);
    expect(r.body.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(r.body.sessions[0]).toEqual(expect.objectContaining({ sid: expect.any(String), client_id: web.clientId, ip: '127.0.0.1', created_at: expect.any(String), expires_at: expect.any(String) }));
  });

  it('logout refuses the calling session at once, and leaves the others alone', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const here = await login(t, web, user);
    const there = await login(t, web, user);
    const theirs = await login(t, web, bystander);

    expect((await call('POST', '/auth/logout', here.access_token)).status).toBe(204);

    const refused = await authGet(t, '/userinfo', here.access_token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="token revoked"/);
    expect((await tokenRequest(t, web, { grant_type: 'refresh_token', refresh_token: here.refresh_token })).body.error).toBe('invalid_grant');

    expect((await authGet(t, '/userinfo', there.access_token)).status).toBe(200);
    expect((await authGet(t, '/userinfo', theirs.access_token)).status).toBe(200);
    const again = await login(t, web, user);
    expect((await authGet(t, '/userinfo', again.access_token)).status).toBe(200);

    const [audit] = await db.query(`SELECT actor_type, actor_id, action, reason FROM audit_log WHERE action = 'session.logout' ORDER BY id DESC LIMIT 1`);
    expect(audit).toEqual({ actor_type: 'user', actor_id: user.id, action: 'session.logout', reason: 'logout' });
  });

  it('ends another of my sessions, but not someone else’s', async () => {
    const user = await createUser(t.app);
    const stranger = await createUser(t.app);
    const mine = await login(t, web, user);
    const lost = await login(t, web, user);
    const foreign = await login(t, web, stranger);
    const sidOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).sid as string;

    expect((await call('DELETE', `/me/sessions/${sidOf(foreign.access_token)}`, mine.access_token)).status).toBe(404);
    expect((await authGet(t, '/userinfo', foreign.access_token)).status).toBe(200);

    expect((await call('DELETE', `/me/sessions/${sidOf(lost.access_token)}`, mine.access_token)).status).toBe(204);
    expect((await authGet(t, '/userinfo', lost.access_token)).status).toBe(401);
    expect((await authGet(t, '/userinfo', mine.access_token)).status).toBe(200);
    const listed = await authGet(t, '/me/sessions', mine.access_token);
    expect(listed.body.sessions.map((s: { sid: string }) => s.sid)).toEqual([sidOf(mine.access_token)]);
  });

  it('tells a client acting for itself that these calls need a user', async () => {
    const r = await tokenRequest(t, machine, { grant_type: 'client_credentials' });
    const me = await authGet(t, '/userinfo', r.body.access_token);
    expect(me.status).toBe(403);
    expect(me.body.code).toBe('USER_TOKEN_REQUIRED');
  });
});
