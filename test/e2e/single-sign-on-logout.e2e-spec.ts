import { createRemoteJWKSet, jwtVerify } from 'jose';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/tokens/oidc-tokens.js';
import { Browser, authorizeCode, authorizePath, inputValue, pkce, redirectQuery } from '../support/authorize-flow.js';
import { authGet, createClient, createUser, type TestClient, tokenRequest } from '../support/fixtures.js';
import { staffApi } from '../support/staff-api.js';
import { startTestApp } from '../support/test-app.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The sign-in session of the hosted page: single sign-on across clients, `prompt` and `max_age`,
 * ended like every session (lock, sign-out-everywhere) and by RP-initiated logout, with each
 * client's back-channel logout receiver told by a logout token that verifies against the JWKS.
 */
describe('single sign-on, RP-initiated logout and back-channel logout', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  let rx: WebhookReceiver;
  let one: TestClient;
  let two: TestClient;
  const CB1 = 'http://127.0.0.1:7001/cb';
  const CB2 = 'http://127.0.0.1:7002/cb';
  const AFTER1 = 'http://127.0.0.1:7001/signed-out';

  beforeAll(async () => {
    rx = await new WebhookReceiver().start();
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_DELAYS: '1,1' } });
    const common = { type: 'public' as const, grants: ['authorization_code', 'refresh_token'], scopes: ['openid', 'email'] };
    one = await createClient(t.app, { ...common, name: 'App One', redirectUris: [CB1], postLogoutRedirectUris: [AFTER1], backchannelLogoutUri: `${rx.url}/one` });
    two = await createClient(t.app, { ...common, name: 'App Two', redirectUris: [CB2], backchannelLogoutUri: `${rx.url}/two` });
  });
  afterAll(async () => {
    await t?.close();
    await rx?.stop();
  });

  /** Signs in (if the page asks) and redeems the code: the token response. */
  async function signIn(browser: Browser, client: TestClient, redirectUri: string, user?: { email: string; password: string }, prompt?: string) {
    const { verifier, challenge } = pkce();
    const got = await authorizeCode(browser, { clientId: client.clientId, redirectUri, scope: 'openid email', challenge, nonce: 'n', prompt }, user);
    const r = await tokenRequest(t, client, { grant_type: 'authorization_code', code: got.code, redirect_uri: redirectUri, code_verifier: verifier });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return { ...r.body, signedIn: got.signedIn } as { access_token: string; id_token: string; refresh_token: string; signedIn: boolean };
  }

  const sidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).sid as string;

  it('signs in once for two clients, and asks again with prompt=login', async () => {
    const user = await createUser(t.app);
    const browser = new Browser(t);
    const first = await signIn(browser, one, CB1, user);
    expect(first.signedIn).toBe(true);
    const second = await signIn(browser, two, CB2);
    expect(second.signedIn).toBe(false);
    expect(sidOf(second.access_token)).not.toBe(sidOf(first.access_token));

    const forced = await browser.get(authorizePath({ clientId: two.clientId, redirectUri: CB2, challenge: pkce().challenge, prompt: 'login' }));
    expect(forced.status).toBe(200);
    expect(forced.text).toContain('Sign in');
    const again = await signIn(browser, two, CB2, user, 'login');
    expect(again.signedIn).toBe(true);
    const idToken = JSON.parse(Buffer.from(again.id_token.split('.')[1], 'base64url').toString());
    expect(idToken.auth_time).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 5);

    // max_age=0: the sign-in is always too old.
    expect((await browser.get(authorizePath({ clientId: one.clientId, redirectUri: CB1, challenge: pkce().challenge, extra: { max_age: '0' } }))).status).toBe(200);
    // prompt=none without a sign-in session: login_required, back at the client.
    const none = await new Browser(t).get(authorizePath({ clientId: one.clientId, redirectUri: CB1, challenge: pkce().challenge, prompt: 'none', state: 'x' }));
    expect(redirectQuery(none.location)).toMatchObject({ error: 'login_required', state: 'x' });
    // prompt=none with one: a code, no page.
    const silent = await browser.get(authorizePath({ clientId: one.clientId, redirectUri: CB1, challenge: pkce().challenge, prompt: 'none' }));
    expect(redirectQuery(silent.location).code).toEqual(expect.any(String));
  });

  it('lists the sign-in session among the user’s sessions, and a lock ends it with every client session; the back-channel receivers are told', async () => {
    const user = await createUser(t.app);
    const browser = new Browser(t);
    const a = await signIn(browser, one, CB1, user);
    const b = await signIn(browser, two, CB2);
    const mine = await authGet(t, '/me/sessions', a.access_token);
    const kinds = mine.body.sessions.map((s: { kind: string; parent_sid: string | null }) => s.kind).sort();
    expect(kinds).toEqual(['client', 'client', 'sign_in']);
    const signInSid = mine.body.sessions.find((s: { kind: string }) => s.kind === 'sign_in').sid;
    expect(mine.body.sessions.filter((s: { parent_sid: string }) => s.parent_sid === signInSid)).toHaveLength(2);

    const admin = await staffApi(t, ['admin']);
    const listed = await admin.call('GET', `/admin/api/users/${user.id}/sessions`);
    expect(listed.body.sessions.map((s: { kind: string }) => s.kind).sort()).toEqual(['client', 'client', 'sign_in']);
    expect((await admin.call('POST', `/admin/api/users/${user.id}/lock`, { reason: 'account takeover' })).status).toBe(200);

    for (const token of [a.access_token, b.access_token]) expect((await authGet(t, '/userinfo', token)).status).toBe(401);
    // The browser's sign-in session is over: the page asks again.
    expect((await browser.get(authorizePath({ clientId: one.clientId, redirectUri: CB1, challenge: pkce().challenge }))).status).toBe(200);

    const told = await rx.waitFor((r) => r.body.logout_token !== undefined && [sidOf(a.access_token), sidOf(b.access_token)].includes(sidOf(r.body.logout_token!)), 2);
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    for (const r of told) {
      expect(r.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
      const aud = sidOf(r.body.logout_token!) === sidOf(a.access_token) ? one.clientId : two.clientId;
      const { payload, protectedHeader } = await jwtVerify(r.body.logout_token!, jwks, { issuer: t.url, audience: aud, algorithms: ['ES256'] });
      expect(protectedHeader.typ).toBe('logout+jwt');
      expect(payload).toMatchObject({ sub: user.id, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } });
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload).not.toHaveProperty('nonce');
    }
    // Not webhooks: the subscriptions API does not show the receivers.
    const hooks = await admin.call('GET', '/admin/api/webhooks');
    expect(JSON.stringify(hooks.body)).not.toContain(rx.url);
  });

  it('signs out at once with a live id_token_hint and goes back to the registered post-logout URI with state', async () => {
    const user = await createUser(t.app);
    const browser = new Browser(t);
    const a = await signIn(browser, one, CB1, user);
    const b = await signIn(browser, two, CB2);
    const q = new URLSearchParams({ id_token_hint: a.id_token, post_logout_redirect_uri: AFTER1, state: 'bye' });
    const out = await browser.get(`/oauth/logout?${q}`);
    expect(out.status).toBe(303);
    expect(out.location).toBe(`${AFTER1}?state=bye`);
    for (const token of [a.access_token, b.access_token]) expect((await authGet(t, '/userinfo', token)).status).toBe(401);
    expect((await tokenRequest(t, one, { grant_type: 'refresh_token', refresh_token: a.refresh_token })).body.error).toBe('invalid_grant');
    expect((await browser.get(authorizePath({ clientId: one.clientId, redirectUri: CB1, challenge: pkce().challenge }))).status).toBe(200);
    await rx.waitFor((r) => r.body.logout_token !== undefined && sidOf(r.body.logout_token!) === sidOf(b.access_token));
  });

  it('signs the logout token afresh at each delivery attempt, with the same jti', async () => {
    const user = await createUser(t.app);
    const a = await signIn(new Browser(t), one, CB1, user);
    rx.script = [503];
    const admin = await staffApi(t, ['admin']);
    expect((await admin.call('POST', `/admin/api/users/${user.id}/revoke-sessions`, { reason: 'lost laptop' })).status).toBe(200);
    const attempts = await rx.waitFor((r) => r.body.logout_token !== undefined && sidOf(r.body.logout_token!) === sidOf(a.access_token), 2);
    const [first, second] = attempts.map((r) => JSON.parse(Buffer.from(r.body.logout_token!.split('.')[1], 'base64url').toString()) as { jti: string; iat: number; exp: number });
    expect(attempts.map((r) => r.answered)).toEqual([503, 204]);
    expect(second.jti).toBe(first.jti);
    expect(second.iat).toBeGreaterThanOrEqual(first.iat);
    expect(second.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));
  });

  it('asks for confirmation without a hint, and signs out when the user says so', async () => {
    const user = await createUser(t.app);
    const browser = new Browser(t);
    const a = await signIn(browser, one, CB1, user);
    const page = await browser.get(`/oauth/logout?client_id=${one.clientId}&post_logout_redirect_uri=${encodeURIComponent(AFTER1)}&state=s1`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<button type="submit">Sign out<\/button>/);
    expect((await authGet(t, '/userinfo', a.access_token)).status).toBe(200);
    const confirmed = await browser.post('/oauth/logout', { _csrf: inputValue(page.text, '_csrf')!, logout_request: inputValue(page.text, 'logout_request')! });
    expect([confirmed.status, confirmed.location]).toEqual([303, `${AFTER1}?state=s1`]);
    expect((await authGet(t, '/userinfo', a.access_token)).status).toBe(401);
  });

  it('refuses a post-logout redirect URI not registered for the client, and redirects nowhere', async () => {
    const user = await createUser(t.app);
    const browser = new Browser(t);
    const a = await signIn(browser, one, CB1, user);
    for (const uri of ['https://evil.example.com/', `${AFTER1}x`]) {
      const q = new URLSearchParams({ id_token_hint: a.id_token, post_logout_redirect_uri: uri });
      const r = await browser.get(`/oauth/logout?${q}`);
      expect({ uri, status: r.status, location: r.location }).toEqual({ uri, status: 400, location: null });
    }
    // Nothing was ended by the refused requests.
    expect((await authGet(t, '/userinfo', a.access_token)).status).toBe(200);
  });
});
