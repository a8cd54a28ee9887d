import { randomUUID } from 'node:crypto';
import { authGet, createClient, createUser, email, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type User = Awaited<ReturnType<typeof createUser>>;

const claimsOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()) as Record<string, any>;
const kidOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[0], 'base64url').toString()).kid as string;

interface AuditItem {
  id: string;
  at: string;
  actor: { type: string; id: string | null };
  action: string;
  target: { type: string; id: string };
  reason: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
}

describe('admin API: staff roles, reasons and the audit log', () => {
  let t: TestApp;
  let web: TestClient;
  let admin: User;
  let security: User;
  let plain: User;

  /** A call to the admin API. `body: undefined` sends no body at all. */
  const call = async (method: string, path: string, token: string | null, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}/admin/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : undefined) as any,
      contentType: res.headers.get('content-type') ?? '',
      challenge: res.headers.get('www-authenticate'),
      requestId: res.headers.get('x-request-id'),
    };
  };

  /** A fresh access token (revoke-all and key revocation in earlier tests take older ones away). */
  const tokenOf = async (user: { email: string; password: string }) => (await login(t, web, user)).access_token;

  const audit = async (query = '') => {
    const r = await call('GET', `/audit${query}`, await tokenOf(admin));
    expect(r.status).toBe(200);
    return r.body as { items: AuditItem[]; next_cursor: string | null };
  };
  const newestAuditId = async () => (await audit('?limit=1')).items[0]?.id ?? '0';

  /** The newest audit entry for this action and target is the one written by `res`, by `actor`, with `reason`. */
  const expectAudited = async (
    res: { requestId: string | null },
    e: { action: string; target: { type: string; id: string }; actor: User; reason: string },
  ): Promise<AuditItem> => {
    expect(res.requestId).toEqual(expect.any(String));
    const { items } = await audit(`?action=${encodeURIComponent(e.action)}&target=${encodeURIComponent(e.target.id)}`);
    expect(items[0]).toMatchObject({ action: e.action, target: e.target, actor: { id: e.actor.id }, reason: e.reason, request_id: res.requestId });
    return items[0];
  };

  const expectProblem = (r: { status: number; contentType: string; body: any }, status: number, code: string) => {
    expect({ status: r.status, code: r.body?.code }).toEqual({ status, code });
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body.status).toBe(status);
  };

  const userinfoStatus = async (token: string) => (await authGet(t, '/userinfo', token)).status;
  const userState = async (id: string) => {
    const r = await call('GET', `/users/${id}`, await tokenOf(admin));
    expect(r.status).toBe(200);
    return r.body as { id: string; email: string; roles: string[]; status: string; live_sessions: number };
  };
  const jwksKids = async () => (((await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as any).keys.map((k: { kid: string }) => k.kid) as string[]).sort();
  const canGetClientToken = async (client: TestClient) => (await tokenRequest(t, client, { grant_type: 'client_credentials' })).status === 200;

  beforeAll(async () => {
    t = await startTestApp();
    web = await createClient(t.app, { grants: ['password', 'refresh_token', 'client_credentials'] });
    admin = await createUser(t.app, { roles: ['admin'] });
    security = await createUser(t.app, { roles: ['security'] });
    plain = await createUser(t.app);
  });
  afterAll(() => t?.close());

  describe('the security role', () => {
    it('finds users, reads one user and lists their live sessions', async () => {
      const sec = await tokenOf(security);
      const target = await createUser(t.app, { email: email('findme') });
      const session = await login(t, web, target);

      const found = await call('GET', `/users?q=${encodeURIComponent(target.email.split('@')[0])}`, sec);
      expect(found.status).toBe(200);
      expect(found.body.items.map((u: { id: string }) => u.id)).toEqual([target.id]);
      expect(found.body.items[0]).toMatchObject({ id: target.id, email: target.email, status: 'active' });

      const one = await call('GET', `/users/${target.id}`, sec);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ id: target.id, email: target.email, roles: [], status: 'active', live_sessions: 1 });

      const sessions = await call('GET', `/users/${target.id}/sessions`, sec);
      expect(sessions.status).toBe(200);
      expect(sessions.body.sessions.map((s: { sid: string }) => s.sid)).toEqual([claimsOf(session.access_token).sid]);
      expect(sessions.body.sessions[0]).toMatchObject({ user_id: target.id, client_id: web.clientId });
    });

    it('locks and unlocks a user; each call is audited with the actor, the reason and the request id', async () => {
      const sec = await tokenOf(security);
      const target = await createUser(t.app);
      const before = await login(t, web, target);

      const locked = await call('POST', `/users/${target.id}/lock`, sec, { reason: 'ticket SEC-1: account takeover' });
      expect(locked.status).toBe(200);
      expect((await userState(target.id)).status).toBe('locked');
      expect(await userinfoStatus(before.access_token)).toBe(401);
      await expectAudited(locked, { action: 'user.locked', target: { type: 'user', id: target.id }, actor: security, reason: 'ticket SEC-1: account takeover' });

      const unlocked = await call('POST', `/users/${target.id}/unlock`, sec, { reason: 'ticket SEC-1: owner verified' });
      expect(unlocked.status).toBe(200);
      expect((await userState(target.id)).status).toBe('active');
      await expectAudited(unlocked, { action: 'user.unlocked', target: { type: 'user', id: target.id }, actor: security, reason: 'ticket SEC-1: owner verified' });
      expect(await userinfoStatus((await login(t, web, target)).access_token)).toBe(200);
    });

    it('signs a user out everywhere and ends one session, audited', async () => {
      const sec = await tokenOf(security);
      const target = await createUser(t.app);
      const a = await login(t, web, target);
      const b = await login(t, web, target);

      const all = await call('POST', `/users/${target.id}/revoke-sessions`, sec, { reason: 'lost laptop' });
      expect(all.status).toBe(200);
      expect(await userinfoStatus(a.access_token)).toBe(401);
      expect(await userinfoStatus(b.access_token)).toBe(401);
      expect((await userState(target.id)).live_sessions).toBe(0);
      const entry = await expectAudited(all, { action: 'user.sessions_revoked', target: { type: 'user', id: target.id }, actor: security, reason: 'lost laptop' });
      expect((entry.data.sid as string[]).sort()).toEqual([claimsOf(a.access_token).sid, claimsOf(b.access_token).sid].sort());

      const c = await login(t, web, target);
      const d = await login(t, web, target);
      const sid = claimsOf(c.access_token).sid as string;
      const one = await call('POST', `/sessions/${sid}/revoke`, sec, { reason: 'unknown device' });
      expect(one.status).toBe(200);
      expect(await userinfoStatus(c.access_token)).toBe(401);
      expect(await userinfoStatus(d.access_token)).toBe(200);
      await expectAudited(one, { action: 'session.revoked', target: { type: 'session', id: sid }, actor: security, reason: 'unknown device' });
    });

    it('pulls the panic button and reads the audit log', async () => {
      const sec = await tokenOf(security);
      const bystander = await login(t, web, plain);

      const r = await call('POST', '/revoke-all', sec, { reason: 'signing infrastructure breach' });
      expect(r.status).toBe(200);
      expect(await userinfoStatus(bystander.access_token)).toBe(401);
      expect(await userinfoStatus(sec)).toBe(401);

      const log = await call('GET', '/audit', await tokenOf(security));
      expect(log.status).toBe(200);
      expect(log.body.items[0]).toMatchObject({
        action: 'tokens.revoked_all',
        target: { type: 'global' },
        actor: { id: security.id },
        reason: 'signing infrastructure breach',
        request_id: r.requestId,
      });
    });

    it('is refused every admin-only call with 403 ROLE_REQUIRED, and nothing changes', async () => {
      const sec = await tokenOf(security);
      const target = await createUser(t.app);
      const app = await createClient(t.app, { grants: ['client_credentials'] });
      const activeKid = kidOf(sec);
      const kidsBefore = await jwksKids();
      const auditBefore = await newestAuditId();
      const newEmail = email('not-created');

      const refused = [
        await call('PUT', `/users/${target.id}/roles`, sec, { roles: ['admin'], reason: 'promote myself' }),
        await call('POST', '/users', sec, { email: newEmail, password: 'a long enough passphrase', roles: ['admin'], reason: 'new admin' }),
        await call('POST', `/clients/${app.clientId}/revoke`, sec, { reason: 'revoke the app' }),
        await call('POST', '/keys/rotate', sec, { reason: 'rotate' }),
        await call('POST', `/keys/${activeKid}/revoke`, sec, { reason: 'compromised' }),
        await call('GET', '/clients', sec),
      ];
      for (const r of refused) expectProblem(r, 403, 'ROLE_REQUIRED');

      expect((await userState(target.id)).roles).toEqual([]);
      expect((await call('GET', `/users?q=${encodeURIComponent(newEmail)}`, await tokenOf(admin))).body.items).toEqual([]);
      expect(await canGetClientToken(app)).toBe(true);
      expect(await jwksKids()).toEqual(kidsBefore);
      expect(kidOf(await tokenOf(plain))).toBe(activeKid);
      expect(await newestAuditId()).toBe(auditBefore);
    });
  });

  describe('who may call at all', () => {
    const routes = (ids: { user: string; sid: string; client: string; kid: string }): [string, string, unknown?][] => [
      ['GET', '/users?q=a'],
      ['GET', `/users/${ids.user}`],
      ['GET', `/users/${ids.user}/sessions`],
      ['POST', '/users', { email: email('nope'), password: 'a long enough passphrase', roles: [], reason: 'r' }],
      ['POST', `/users/${ids.user}/lock`, { reason: 'r' }],
      ['POST', `/users/${ids.user}/unlock`, { reason: 'r' }],
      ['POST', `/users/${ids.user}/revoke-sessions`, { reason: 'r' }],
      ['PUT', `/users/${ids.user}/roles`, { roles: ['admin'], reason: 'r' }],
      ['POST', `/sessions/${ids.sid}/revoke`, { reason: 'r' }],
      ['GET', '/clients'],
      ['POST', `/clients/${ids.client}/revoke`, { reason: 'r' }],
      ['POST', '/keys/rotate', { reason: 'r' }],
      ['POST', `/keys/${ids.kid}/revoke`, { reason: 'r' }],
      ['POST', '/revoke-all', { reason: 'r' }],
      ['GET', '/audit'],
    ];

    const fixture = async () => {
      const user = await createUser(t.app);
      const session = await login(t, web, user);
      const app = await createClient(t.app, { grants: ['client_credentials'] });
      return { user, session, app, ids: { user: user.id, sid: claimsOf(session.access_token).sid as string, client: app.clientId, kid: kidOf(session.access_token) } };
    };

    const expectNothingChanged = async (f: Awaited<ReturnType<typeof fixture>>, auditBefore: string, kidsBefore: string[]) => {
      expect(await userinfoStatus(f.session.access_token)).toBe(200);
      expect(await userState(f.user.id)).toMatchObject({ roles: [], status: 'active', live_sessions: 1 });
      expect(await canGetClientToken(f.app)).toBe(true);
      expect(await jwksKids()).toEqual(kidsBefore);
      expect(await newestAuditId()).toBe(auditBefore);
    };

    it('a user without a staff role gets 403 on every admin route, and nothing changes', async () => {
      const f = await fixture();
      const kidsBefore = await jwksKids();
      const auditBefore = await newestAuditId();
      const token = await tokenOf(plain);
      for (const [method, path, body] of routes(f.ids)) {
        const r = await call(method, path, token, body);
        expect({ route: `${method} ${path}`, status: r.status, code: r.body?.code }).toEqual({ route: `${method} ${path}`, status: 403, code: 'ROLE_REQUIRED' });
        expect(r.contentType).toMatch(/^application\/problem\+json/);
      }
      await expectNothingChanged(f, auditBefore, kidsBefore);
    });

    it('a client acting for itself gets 403 on every admin route', async () => {
      const f = await fixture();
      const machine = (await tokenRequest(t, web, { grant_type: 'client_credentials' })).body.access_token as string;
      const kidsBefore = await jwksKids();
      const auditBefore = await newestAuditId();
      for (const [method, path, body] of routes(f.ids)) {
        const r = await call(method, path, machine, body);
        expect({ route: `${method} ${path}`, status: r.status }).toEqual({ route: `${method} ${path}`, status: 403 });
        expect(r.contentType).toMatch(/^application\/problem\+json/);
      }
      await expectNothingChanged(f, auditBefore, kidsBefore);
    });

    it('without a token every admin route answers 401 with a bearer challenge', async () => {
      const f = await fixture();
      const kidsBefore = await jwksKids();
      const auditBefore = await newestAuditId();
      for (const [method, path, body] of routes(f.ids)) {
        const r = await call(method, path, null, body);
        expect({ route: `${method} ${path}`, status: r.status }).toEqual({ route: `${method} ${path}`, status: 401 });
        expect(r.challenge).toMatch(/^Bearer /);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
      }
      await expectNothingChanged(f, auditBefore, kidsBefore);
    });
  });

  describe('reasons', () => {
    it('every state-changing call refuses a missing, empty, blank or 501-character reason with 400, and changes nothing', async () => {
      const victim = await createUser(t.app);
      const victimSession = await login(t, web, victim);
      const locked = await createUser(t.app);
      await login(t, web, locked);
      expect((await call('POST', `/users/${locked.id}/lock`, await tokenOf(admin), { reason: 'set-up' })).status).toBe(200);
      const app = await createClient(t.app, { grants: ['client_credentials'] });
      const newEmail = email('never-created');
      const activeKid = kidOf(victimSession.access_token);
      const kidsBefore = await jwksKids();
      const auditBefore = await newestAuditId();
      const sid = claimsOf(victimSession.access_token).sid as string;

      const calls: [string, string, Record<string, unknown>][] = [
        ['POST', `/users/${victim.id}/lock`, {}],
        ['POST', `/users/${locked.id}/unlock`, {}],
        ['POST', `/users/${victim.id}/revoke-sessions`, {}],
        ['POST', `/sessions/${sid}/revoke`, {}],
        ['PUT', `/users/${victim.id}/roles`, { roles: ['admin'] }],
        ['POST', '/users', { email: newEmail, password: 'a long enough passphrase', roles: ['admin'] }],
        ['POST', `/clients/${app.clientId}/revoke`, {}],
        ['POST', '/keys/rotate', {}],
        ['POST', `/keys/${activeKid}/revoke`, {}],
        ['POST', '/revoke-all', {}],
      ];
      const badReasons: [string, (rest: Record<string, unknown>) => unknown][] = [
        ['no body at all', () => undefined],
        ['no reason', (rest) => ({ ...rest })],
        ['an empty reason', (rest) => ({ ...rest, reason: '' })],
        ['a whitespace-only reason', (rest) => ({ ...rest, reason: ' \t\n  ' })],
        ['a 501-character reason', (rest) => ({ ...rest, reason: 'x'.repeat(501) })],
      ];

      const token = await tokenOf(admin);
      for (const [method, path, rest] of calls) {
        for (const [what, body] of badReasons) {
          const r = await call(method, path, token, body(rest));
          const label = `${method} ${path} with ${what}`;
          expect({ label, status: r.status, code: r.body?.code }).toEqual({ label, status: 400, code: 'VALIDATION_FAILED' });
          expect(r.contentType).toMatch(/^application\/problem\+json/);
          expect(r.body.errors.map((e: { field: string }) => e.field)).toContain('reason');
        }
      }

      // Nothing changed.
      expect(await userinfoStatus(victimSession.access_token)).toBe(200);
      expect(await userState(victim.id)).toMatchObject({ status: 'active', roles: [], live_sessions: 1 });
      expect((await userState(locked.id)).status).toBe('locked');
      expect((await call('GET', `/users?q=${encodeURIComponent(newEmail)}`, token)).body.items).toEqual([]);
      expect(await canGetClientToken(app)).toBe(true);
      expect(await jwksKids()).toEqual(kidsBefore);
      expect(kidOf(await tokenOf(plain))).toBe(activeKid);
      expect(await newestAuditId()).toBe(auditBefore);
    }, 60_000);

    it('accepts a reason of exactly 500 characters and records it', async () => {
      const target = await createUser(t.app);
      const reason = `${'r'.repeat(499)}!`;
      const r = await call('POST', `/users/${target.id}/lock`, await tokenOf(security), { reason });
      expect(r.status).toBe(200);
      await expectAudited(r, { action: 'user.locked', target: { type: 'user', id: target.id }, actor: security, reason });
    });
  });

  describe('the audit log', () => {
    it('records every admin-only action with the admin as actor, the reason, the target and the request id', async () => {
      const adm = await tokenOf(admin);
      const target = await createUser(t.app);
      const app = await createClient(t.app, { grants: ['client_credentials'] });

      const roles = await call('PUT', `/users/${target.id}/roles`, adm, { roles: ['security'], reason: 'joined the security team' });
      expect(roles.status).toBe(200);
      const rolesEntry = await expectAudited(roles, { action: 'user.roles_changed', target: { type: 'user', id: target.id }, actor: admin, reason: 'joined the security team' });
      expect(rolesEntry.data).toMatchObject({ from: [], to: ['security'] });

      const newEmail = email('created');
      const created = await call('POST', '/users', adm, { email: newEmail, password: 'a long enough passphrase', roles: ['security'], reason: 'new hire' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ email: newEmail, roles: ['security'], status: 'active' });
      await expectAudited(created, { action: 'user.created', target: { type: 'user', id: created.body.id }, actor: admin, reason: 'new hire' });

      const revokedClient = await call('POST', `/clients/${app.clientId}/revoke`, adm, { reason: 'vendor contract ended' });
      expect(revokedClient.status).toBe(200);
      await expectAudited(revokedClient, { action: 'client.revoked', target: { type: 'client', id: app.clientId }, actor: admin, reason: 'vendor contract ended' });

      const rotated = await call('POST', '/keys/rotate', adm, { reason: 'scheduled rotation' });
      expect(rotated.status).toBe(200);
      await expectAudited(rotated, { action: 'signing_key.rotated', target: { type: 'signing_key', id: rotated.body.kid }, actor: admin, reason: 'scheduled rotation' });

      const revokedKey = await call('POST', `/keys/${rotated.body.kid}/revoke`, await tokenOf(admin), { reason: 'key material leaked' });
      expect(revokedKey.status).toBe(200);
      await expectAudited(revokedKey, { action: 'signing_key.revoked', target: { type: 'signing_key', id: rotated.body.kid }, actor: admin, reason: 'key material leaked' });
      // The key was the active one: the replacement is audited in the same request.
      await expectAudited(revokedKey, { action: 'signing_key.rotated', target: { type: 'signing_key', id: revokedKey.body.active }, actor: admin, reason: 'key material leaked' });

      const all = await call('POST', '/revoke-all', await tokenOf(admin), { reason: 'drill' });
      expect(all.status).toBe(200);
      await expectAudited(all, { action: 'tokens.revoked_all', target: { type: 'global', id: '*' }, actor: admin, reason: 'drill' });
    });

    it('lists newest first, filters by actor, target and action, and pages with next_cursor', async () => {
      const auditor = await createUser(t.app, { roles: ['security'] });
      const sec = await tokenOf(auditor);
      const first = await createUser(t.app);
      const second = await createUser(t.app);
      const done: { action: string; target: string; requestId: string | null }[] = [];
      for (const [path, action, target] of [
        [`/users/${first.id}/lock`, 'user.locked', first.id],
        [`/users/${second.id}/lock`, 'user.locked', second.id],
        [`/users/${first.id}/unlock`, 'user.unlocked', first.id],
        [`/users/${first.id}/revoke-sessions`, 'user.sessions_revoked', first.id],
        [`/users/${second.id}/unlock`, 'user.unlocked', second.id],
      ]) {
        const r = await call('POST', path, sec, { reason: `step ${done.length + 1}` });
        expect(r.status).toBe(200);
        done.push({ action, target, requestId: r.requestId });
      }
      const newestFirst = [...done].reverse();
      const view = (items: AuditItem[]) => items.map((i) => ({ action: i.action, target: i.target.id, requestId: i.request_id }));

      const everything = await audit();
      expect(view(everything.items.slice(0, 5))).toEqual(newestFirst);
      const ids = everything.items.map((i) => BigInt(i.id));
      expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
      expect(everything.items.some((i) => i.actor.id !== auditor.id)).toBe(true);

      const byActor = await audit(`?actor=${auditor.id}`);
      expect(view(byActor.items)).toEqual(newestFirst);
      expect(byActor.items.map((i) => i.reason)).toEqual(['step 5', 'step 4', 'step 3', 'step 2', 'step 1']);

      const byTarget = await audit(`?target=${first.id}`);
      expect(byTarget.items.every((i) => i.target.id === first.id)).toBe(true);
      expect(view(byTarget.items.filter((i) => i.actor.id === auditor.id))).toEqual(newestFirst.filter((d) => d.target === first.id));

      const byAction = await audit(`?action=user.unlocked&actor=${auditor.id}`);
      expect(view(byAction.items)).toEqual(newestFirst.filter((d) => d.action === 'user.unlocked'));
      expect((await audit(`?action=user.unlocked`)).items.every((i) => i.action === 'user.unlocked')).toBe(true);

      // Pages of two: 2 + 2 + 1, in order, none repeated, the last without a cursor.
      const pages: AuditItem[][] = [];
      let cursor: string | null = null;
      do {
        const page: { items: AuditItem[]; next_cursor: string | null } = await audit(`?actor=${auditor.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        pages.push(page.items);
        cursor = page.next_cursor;
      } while (cursor && pages.length < 10);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(view(pages.flat())).toEqual(newestFirst);
    });
  });

  it('answers 404 problem+json for an unknown user or session, and records nothing', async () => {
    const token = await tokenOf(admin);
    const auditBefore = await newestAuditId();
    for (const id of [randomUUID(), 'not-a-uuid']) {
      expectProblem(await call('GET', `/users/${id}`, token), 404, 'USER_NOT_FOUND');
      expectProblem(await call('GET', `/users/${id}/sessions`, token), 404, 'USER_NOT_FOUND');
      expectProblem(await call('POST', `/users/${id}/lock`, token, { reason: 'r' }), 404, 'USER_NOT_FOUND');
      expectProblem(await call('POST', `/users/${id}/unlock`, token, { reason: 'r' }), 404, 'USER_NOT_FOUND');
      expectProblem(await call('POST', `/users/${id}/revoke-sessions`, token, { reason: 'r' }), 404, 'USER_NOT_FOUND');
      expectProblem(await call('PUT', `/users/${id}/roles`, token, { roles: [], reason: 'r' }), 404, 'USER_NOT_FOUND');
      expectProblem(await call('POST', `/sessions/${id}/revoke`, token, { reason: 'r' }), 404, 'SESSION_NOT_FOUND');
    }
    expect(await newestAuditId()).toBe(auditBefore);
  });
});
