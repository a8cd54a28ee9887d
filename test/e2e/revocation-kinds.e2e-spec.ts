import { authGet, basic, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

type User = Awaited<ReturnType<typeof createUser>>;

const claimsOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()) as Record<string, any>;
const kidOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[0], 'base64url').toString()).kid as string;

/**
 * Every kind of revocation, over HTTP: once the revoking call has answered 2xx, the very next request
 * with an affected token is refused, and nothing else is.
 */
describe('revocation: every kind takes effect on the very next request', () => {
  let t: TestApp;
  let web: TestClient;
  let admin: User;

  /** What the guard said about a token: the status, and the RFC 6750 challenge when there is one. */
  const verdict = async (path: string, token: string) => {
    const r = await authGet(t, path, token);
    const challenge = r.headers.get('www-authenticate') ?? '';
    return {
      status: r.status,
      error: /error="([^"]*)"/.exec(challenge)?.[1],
      description: /error_description="([^"]*)"/.exec(challenge)?.[1],
      code: r.body?.code as string | undefined,
    };
  };
  const REVOKED = { status: 401, error: 'invalid_token', description: 'token revoked' };

  /** A user token refused as revoked on GET /userinfo. */
  const expectRevoked = async (token: string) => expect(await verdict('/userinfo', token)).toMatchObject(REVOKED);
  /** A user token accepted by GET /userinfo. */
  const expectAccepted = async (token: string) => expect((await verdict('/userinfo', token)).status).toBe(200);
  /** A client_credentials token: refused as revoked (401), not the usual 403 for a token without a user. */
  const expectClientTokenRevoked = async (token: string) => expect(await verdict('/me/sessions', token)).toMatchObject(REVOKED);
  const expectClientTokenAccepted = async (token: string) => expect(await verdict('/me/sessions', token)).toMatchObject({ status: 403, code: 'USER_TOKEN_REQUIRED' });

  const refresh = (client: TestClient, refreshToken: string) => tokenRequest(t, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
  const clientToken = async (client: TestClient) => {
    const r = await tokenRequest(t, client, { grant_type: 'client_credentials' });
    expect(r.status).toBe(200);
    return r.body.access_token as string;
  };

  /** A fresh staff token (the global cutoff and key revocation take earlier ones away). */
  const staffToken = async () => (await login(t, web, admin)).access_token;

  const adminCall = async (method: string, path: string, body: unknown = { reason: 'revocation e2e test' }, token?: string) => {
    const res = await fetch(`${t.url}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token ?? (await staffToken())}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const oauthRevoke = async (client: TestClient, token: string) => {
    const res = await fetch(`${t.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client) },
      body: new URLSearchParams({ token }).toString(),
    });
    return res.status;
  };

  const jwksKids = async () => ((await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as any).keys.map((k: { kid: string }) => k.kid) as string[];

  beforeAll(async () => {
    t = await startTestApp();
    web = await createClient(t.app, { grants: ['password', 'refresh_token', 'client_credentials'] });
    admin = await createUser(t.app, { roles: ['admin'] });
  });
  afterAll(() => t?.close());

  it('lock: every token of the user is refused at once, and the user can neither log in nor refresh', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const one = await login(t, web, user);
    const two = await login(t, web, user);
    const theirs = await login(t, web, bystander);
    await expectAccepted(one.access_token);

    const r = await adminCall('POST', `/users/${user.id}/lock`);
    expect(r.status).toBe(200);

    await expectRevoked(one.access_token);
    await expectRevoked(two.access_token);
    await expectAccepted(theirs.access_token);

    const relogin = await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password });
    expect(relogin.status).toBe(400);
    expect(relogin.body.error).toBe('invalid_grant');
    expect(relogin.body.access_token).toBeUndefined();
    const refreshed = await refresh(web, two.refresh_token);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');

    // Unlocked right away, a token issued now passes, even in the same second as the lock.
    expect((await adminCall('POST', `/users/${user.id}/unlock`)).status).toBe(200);
    const after = await login(t, web, user);
    await expectAccepted(after.access_token);
    await expectRevoked(one.access_token);
  });

  it('unlock: the user can log in again, but tokens from before the lock stay refused', async () => {
    const user = await createUser(t.app);
    const before = await login(t, web, user);
    expect((await adminCall('POST', `/users/${user.id}/lock`)).status).toBe(200);
    await expectRevoked(before.access_token);

    const r = await adminCall('POST', `/users/${user.id}/unlock`);
    expect(r.status).toBe(200);

    await expectRevoked(before.access_token);
    const stale = await refresh(web, before.refresh_token);
    expect(stale.body.error).toBe('invalid_grant');

    const again = await login(t, web, user);
    await expectAccepted(again.access_token);
    const refreshed = await refresh(web, again.refresh_token);
    expect(refreshed.status).toBe(200);
    await expectAccepted(refreshed.body.access_token);
  });

  it('sign out everywhere: the access and refresh tokens of every session are refused; other users and later logins pass', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const sessions = [await login(t, web, user), await login(t, web, user), await login(t, web, user)];
    const theirs = await login(t, web, bystander);

    const r = await adminCall('POST', `/users/${user.id}/revoke-sessions`);
    expect(r.status).toBe(200);

    for (const s of sessions) await expectRevoked(s.access_token);
    for (const s of sessions) {
      const refreshed = await refresh(web, s.refresh_token);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
    }
    await expectAccepted(theirs.access_token);
    expect((await refresh(web, theirs.refresh_token)).status).toBe(200);

    const after = await login(t, web, user);
    await expectAccepted(after.access_token);
    expect((await refresh(web, after.refresh_token)).status).toBe(200);
  });

  it('a token issued right after a sign-out-everywhere passes, in the same second as the cutoff too', async () => {
    const user = await createUser(t.app);
    // Repeat until one login lands in the same second as its cutoff (usually the first time).
    for (let i = 0; i < 5; i++) {
      const before = await login(t, web, user);
      expect((await adminCall('POST', `/users/${user.id}/revoke-sessions`)).status).toBe(200);
      const after = await login(t, web, user);
      await expectRevoked(before.access_token);
      await expectAccepted(after.access_token);
      if (claimsOf(after.access_token).iat === claimsOf(before.access_token).iat) break;
    }
  }, 60_000);

  it('one session: its tokens are refused, the user’s other sessions pass', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const doomed = await login(t, web, user);
    const kept = await login(t, web, user);
    const theirs = await login(t, web, bystander);
    const sid = claimsOf(doomed.access_token).sid as string;

    const r = await adminCall('POST', `/sessions/${sid}/revoke`);
    expect(r.status).toBe(200);

    await expectRevoked(doomed.access_token);
    expect((await refresh(web, doomed.refresh_token)).body.error).toBe('invalid_grant');
    await expectAccepted(kept.access_token);
    await expectAccepted(theirs.access_token);
    const keptRefreshed = await refresh(web, kept.refresh_token);
    expect(keptRefreshed.status).toBe(200);
    await expectAccepted(keptRefreshed.body.access_token);

    const after = await login(t, web, user);
    await expectAccepted(after.access_token);
  });

  it('role change: tokens issued before are refused; the session refreshes into a token with the new roles', async () => {
    const user = await createUser(t.app, { roles: ['security'] });
    const bystander = await createUser(t.app, { roles: ['security'] });
    const mine = await login(t, web, user);
    const theirs = await login(t, web, bystander);
    expect(claimsOf(mine.access_token).roles).toEqual(['security']);
    expect((await authGet(t, '/admin/api/users', mine.access_token)).status).toBe(200);

    const r = await adminCall('PUT', `/users/${user.id}/roles`, { roles: ['support'], reason: 'moved to the support team' });
    expect(r.status).toBe(200);
    expect(r.body.roles).toEqual(['support']);

    await expectRevoked(mine.access_token);
    expect(await verdict('/admin/api/users', mine.access_token)).toMatchObject(REVOKED);
    await expectAccepted(theirs.access_token);

    const refreshed = await refresh(web, mine.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(claimsOf(refreshed.body.access_token).roles).toEqual(['support']);
    expect(claimsOf(refreshed.body.access_token).sid).toBe(claimsOf(mine.access_token).sid);
    await expectAccepted(refreshed.body.access_token);
    // The new roles are the ones that count: no more staff access.
    expect(await verdict('/admin/api/users', refreshed.body.access_token)).toMatchObject({ status: 403, code: 'ROLE_REQUIRED' });

    const after = await login(t, web, user);
    expect(claimsOf(after.access_token).roles).toEqual(['support']);
    await expectAccepted(after.access_token);
  });

  it('password change: every other session is refused, the calling one lives on, and only the new password logs in', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const here = await login(t, web, user);
    const elsewhere = await login(t, web, user);
    const theirs = await login(t, web, bystander);
    const change = (body: unknown) =>
      fetch(`${t.url}/me/password`, { method: 'POST', headers: { authorization: `Bearer ${here.access_token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const newPassword = 'an entirely different passphrase';

    const wrong = await change({ current_password: 'not the password at all', new_password: newPassword });
    expect(wrong.status).toBe(403);
    // A refused change ends nothing and keeps the old password.
    await expectAccepted(elsewhere.access_token);
    await login(t, web, user);

    const ok = await change({ current_password: user.password, new_password: newPassword });
    expect(ok.status).toBe(204);

    await expectRevoked(elsewhere.access_token);
    expect((await refresh(web, elsewhere.refresh_token)).body.error).toBe('invalid_grant');
    await expectAccepted(here.access_token);
    const hereRefreshed = await refresh(web, here.refresh_token);
    expect(hereRefreshed.status).toBe(200);
    await expectAccepted(hereRefreshed.body.access_token);
    await expectAccepted(theirs.access_token);

    const oldPassword = await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password });
    expect(oldPassword.status).toBe(400);
    expect(oldPassword.body.error).toBe('invalid_grant');
    const after = await login(t, web, { email: user.email, password: newPassword });
    await expectAccepted(after.access_token);
  });

  it('client revocation: its user and client_credentials tokens are refused, it gets no new tokens, other clients are untouched', async () => {
    const doomed = await createClient(t.app, { name: 'doomed app', grants: ['password', 'refresh_token', 'client_credentials'] });
    const other = await createClient(t.app, { name: 'other app', grants: ['password', 'refresh_token', 'client_credentials'] });
    const user = await createUser(t.app);
    const viaDoomed = await login(t, doomed, user);
    const viaOther = await login(t, other, user);
    const doomedMachine = await clientToken(doomed);
    const otherMachine = await clientToken(other);
    await expectClientTokenAccepted(doomedMachine);

    const r = await adminCall('POST', `/clients/${encodeURIComponent(doomed.clientId)}/revoke`);
    expect(r.status).toBe(200);

    await expectRevoked(viaDoomed.access_token);
    await expectClientTokenRevoked(doomedMachine);
    for (const params of <Record<string, string>[]>[
      { grant_type: 'password', username: user.email, password: user.password },
      { grant_type: 'refresh_token', refresh_token: viaDoomed.refresh_token },
      { grant_type: 'client_credentials' },
    ]) {
      const refused = await tokenRequest(t, doomed, params);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
    }

    await expectAccepted(viaOther.access_token);
    await expectClientTokenAccepted(otherMachine);
    const after = await login(t, other, user);
    await expectAccepted(after.access_token);
    await expectClientTokenAccepted(await clientToken(other));
  });

  it('signing-key revocation: tokens signed by the key are refused, a new key signs, and the JWKS drops the revoked kid', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    // A token signed by the key that will be retired, not revoked.
    const olderKeyToken = await login(t, web, bystander);
    const rotated = await adminCall('POST', '/keys/rotate');
    expect(rotated.status).toBe(200);
    const compromised = rotated.body.kid as string;

    const signed = await login(t, web, user);
    const machine = await clientToken(web);
    expect(kidOf(signed.access_token)).toBe(compromised);
    expect(kidOf(machine)).toBe(compromised);
    expect(kidOf(olderKeyToken.access_token)).not.toBe(compromised);
    expect(await jwksKids()).toContain(compromised);

    const r = await adminCall('POST', `/keys/${compromised}/revoke`);
    expect(r.status).toBe(200);
    expect(r.body.active).toEqual(expect.any(String));
    expect(r.body.active).not.toBe(compromised);

    await expectRevoked(signed.access_token);
    await expectClientTokenRevoked(machine);
    await expectAccepted(olderKeyToken.access_token);

    const kids = await jwksKids();
    expect(kids).not.toContain(compromised);
    expect(kids).toContain(r.body.active);
    const after = await login(t, web, user);
    expect(kidOf(after.access_token)).toBe(r.body.active);
    await expectAccepted(after.access_token);
  });

  it('RFC 7009 on an access token: that token is refused, another token of the same session passes', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const first = await login(t, web, user);
    const sibling = await refresh(web, first.refresh_token);
    expect(sibling.status).toBe(200);
    expect(claimsOf(sibling.body.access_token).sid).toBe(claimsOf(first.access_token).sid);
    const theirs = await login(t, web, bystander);

    expect(await oauthRevoke(web, first.access_token)).toBe(200);

    await expectRevoked(first.access_token);
    await expectAccepted(sibling.body.access_token);
    await expectAccepted(theirs.access_token);
    // The session itself lives on.
    const next = await refresh(web, sibling.body.refresh_token);
    expect(next.status).toBe(200);
    await expectAccepted(next.body.access_token);
    const after = await login(t, web, user);
    await expectAccepted(after.access_token);
  });

  it('RFC 7009 on a refresh token: its whole session is refused, the user’s other sessions pass', async () => {
    const user = await createUser(t.app);
    const bystander = await createUser(t.app);
    const doomed = await login(t, web, user);
    const kept = await login(t, web, user);
    const theirs = await login(t, web, bystander);

    expect(await oauthRevoke(web, doomed.refresh_token)).toBe(200);

    await expectRevoked(doomed.access_token);
    expect((await refresh(web, doomed.refresh_token)).body.error).toBe('invalid_grant');
    await expectAccepted(kept.access_token);
    await expectAccepted(theirs.access_token);
    const after = await login(t, web, user);
    await expectAccepted(after.access_token);
  });

  // Last: the panic button ends every session in this app.
  it('global cutoff: every token issued before is refused, the caller’s own included; tokens issued after pass', async () => {
    const user = await createUser(t.app);
    const other = await createUser(t.app);
    const mine = await login(t, web, user);
    const theirs = await login(t, web, other);
    const machine = await clientToken(web);
    const callerToken = await staffToken();

    const r = await adminCall('POST', '/revoke-all', { reason: 'suspected breach' }, callerToken);
    expect(r.status).toBe(200);

    await expectRevoked(mine.access_token);
    await expectRevoked(theirs.access_token);
    await expectClientTokenRevoked(machine);
    await expectRevoked(callerToken);
    expect(await verdict('/admin/api/audit', callerToken)).toMatchObject(REVOKED);
    expect((await refresh(web, mine.refresh_token)).body.error).toBe('invalid_grant');

    const freshStaff = await staffToken();
    expect((await authGet(t, '/admin/api/audit?action=tokens.revoked_all', freshStaff)).status).toBe(200);
    const after = await login(t, web, user);
    await expectAccepted(after.access_token);
    await expectClientTokenAccepted(await clientToken(web));
  });
});
