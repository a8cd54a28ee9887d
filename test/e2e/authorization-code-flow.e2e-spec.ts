import { createRemoteJWKSet, jwtVerify } from 'jose';
import { atHash } from '../../src/tokens/oidc-tokens.js';
import { Browser, authorizeCode, authorizePath, inputValue, pkce, redirectQuery, submitSignIn } from '../support/authorize-flow.js';
import { authGet, createClient, createUser, type TestClient, tokenRequest } from '../support/fixtures.js';
import { startTestApp } from '../support/test-app.js';

/**
 * The authorization code flow with PKCE through the hosted sign-in page (RFC 6749 section 4.1,
 * RFC 7636, OpenID Connect Core 3.1), and the attacks it must refuse.
 */
describe('authorization code flow with PKCE', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  let spa: TestClient;
  let web: TestClient;
  const SPA_CB = 'http://127.0.0.1:5173/callback';
  const WEB_CB = 'https://web.example.com/auth/callback';

  beforeAll(async () => {
    t = await startTestApp();
    spa = await createClient(t.app, { type: 'public', grants: ['authorization_code', 'refresh_token'], scopes: ['openid', 'email', 'profile', 'read'], redirectUris: [SPA_CB] });
    web = await createClient(t.app, { type: 'confidential', grants: ['authorization_code'], scopes: ['openid', 'email'], redirectUris: [WEB_CB] });
  });
  afterAll(() => t?.close());

  const redeem = (client: TestClient, code: string, redirectUri: string, verifier?: string) =>
    tokenRequest(t, client, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, ...(verifier ? { code_verifier: verifier } : {}) });

  it('signs a user in on the hosted page and issues tokens and an OpenID Connect ID token for the code', async () => {
    const user = await createUser(t.app);
    const browser = new Browser(t);
    const { verifier, challenge } = pkce();
    const page = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, scope: 'openid email profile', state: 'st-1', nonce: 'n-1', challenge }));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src|default-src 'none'/);
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
    expect(page.text).toMatch(/<label for="email">Email<\/label>/);
    expect(page.text).toMatch(/<label for="password">Password<\/label>/);
    expect(page.text).toMatch(/<button type="submit">Sign in<\/button>/);

    const signedIn = await submitSignIn(browser, page, user);
    expect(signedIn.status).toBe(303);
    const back = redirectQuery(signedIn.location);
    expect(signedIn.location!.startsWith(`${SPA_CB}?`)).toBe(true);
    expect(back).toMatchObject({ state: 'st-1', iss: t.url });
    const setCookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('lk_session='))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);

    const r = await redeem(spa, back.code, SPA_CB, verifier);
    expect([r.status, r.body.error_description]).toEqual([200, undefined]);
    expect(r.body).toMatchObject({ token_type: 'Bearer', scope: 'openid email profile' });
    expect(r.body.refresh_token).toEqual(expect.any(String));
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(r.body.id_token, jwks, { issuer: t.url, audience: spa.clientId, algorithms: ['ES256'] });
    expect(protectedHeader.typ).toBe('JWT');
    expect(payload).toMatchObject({ sub: user.id, nonce: 'n-1', at_hash: atHash(r.body.access_token) });
    expect(typeof payload.auth_time).toBe('number');
    const access = await jwtVerify(r.body.access_token, jwks, { issuer: t.url });
    expect(payload.sid).toBe(access.payload.sid);

    const info = await authGet(t, '/userinfo', r.body.access_token);
    expect(info.body).toEqual({ sub: user.id, email: user.email, preferred_username: user.email, roles: [] });
    // The refresh token works like any other.
    const refreshed = await tokenRequest(t, spa, { grant_type: 'refresh_token', refresh_token: r.body.refresh_token });
    expect(refreshed.status).toBe(200);
  });

  it('gives the same answer for an unknown, a wrong and a locked account, and issues no code', async () => {
    const user = await createUser(t.app);
    const locked = await createUser(t.app);
    await t.app.get((await import('../../src/revocation/revocation.service.js')).RevocationService).lockUser(locked.id, { actorType: 'system', actorId: null, reason: 'test' });
    const answers = [];
    for (const who of [{ email: 'nobody@example.com', password: 'whatever it is' }, { email: user.email, password: 'not the password' }, locked]) {
      const browser = new Browser(t);
      const page = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, challenge: pkce().challenge }));
      const a = await submitSignIn(browser, page, who);
      answers.push({ status: a.status, location: a.location, error: /<p class="error" role="alert">([^<]*)</.exec(a.text)?.[1] });
    }
    expect(answers[0].location).toBeNull();
    expect(answers[0].status).toBe(400);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  describe('refuses', () => {
    let user: Awaited<ReturnType<typeof createUser>>;
    beforeAll(async () => {
      user = await createUser(t.app);
    });

    const codeFor = async (client: TestClient, redirectUri: string, challenge?: string) => (await authorizeCode(new Browser(t), { clientId: client.clientId, redirectUri, scope: 'openid', challenge }, user)).code;

    it('a wrong, a malformed or a missing code_verifier (invalid_grant), without using the code up', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(spa, SPA_CB, challenge);
      for (const attempt of [pkce().verifier, 'short', undefined]) {
        const r = await redeem(spa, code, SPA_CB, attempt);
        expect({ attempt, status: r.status, error: r.body.error }).toEqual({ attempt, status: 400, error: 'invalid_grant' });
      }
      // An intercepted code presented without its verifier cannot be burned: the app still redeems it.
      expect((await redeem(spa, code, SPA_CB, verifier)).status).toBe(200);
    });

    it('plain PKCE, and a public client without PKCE (sent back to the client as invalid_request)', async () => {
      const browser = new Browser(t);
      const plain = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, state: 's', challenge: pkce().verifier, method: 'plain' }));
      expect(plain.status).toBe(303);
      expect(redirectQuery(plain.location)).toMatchObject({ error: 'invalid_request', state: 's', iss: t.url });
      const none = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, state: 's2' }));
      expect(redirectQuery(none.location)).toMatchObject({ error: 'invalid_request', state: 's2' });
      expect(redirectQuery(none.location).error_description).toMatch(/PKCE/);
    });

    it('a replayed code, and then the tokens of its first redemption', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(spa, SPA_CB, challenge);
      const first = await redeem(spa, code, SPA_CB, verifier);
      expect(first.status).toBe(200);
      expect((await authGet(t, '/userinfo', first.body.access_token)).status).toBe(200);
      const again = await redeem(spa, code, SPA_CB, verifier);
      expect([again.status, again.body.error]).toEqual([400, 'invalid_grant']);
      expect((await authGet(t, '/userinfo', first.body.access_token)).status).toBe(401);
      const refresh = await tokenRequest(t, spa, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
      expect(refresh.body.error).toBe('invalid_grant');
    });

    it('a code redeemed by another client, or with another redirect URI', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(spa, SPA_CB, challenge);
      const stolen = await redeem(web, code, SPA_CB, verifier);
      expect([stolen.status, stolen.body.error]).toEqual([400, 'invalid_grant']);
      const elsewhere = await redeem(spa, code, 'http://127.0.0.1:5173/callback2', verifier);
      expect([elsewhere.status, elsewhere.body.error]).toEqual([400, 'invalid_grant']);
      // Neither used it up: the client it was issued to, with its redirect URI, still gets tokens.
      expect((await redeem(spa, code, SPA_CB, verifier)).status).toBe(200);
    });

    it('a redirect URI one character off, or not registered: an error page, and no redirect', async () => {
      const browser = new Browser(t);
      for (const uri of [`${SPA_CB}/`, SPA_CB.replace('callback', 'callbacK'), 'https://evil.example.com/callback']) {
        const a = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: uri, challenge: pkce().challenge }));
        expect({ uri, status: a.status, location: a.location }).toEqual({ uri, status: 400, location: null });
        expect(a.text).toMatch(/not registered/);
      }
      const unknown = await browser.get(authorizePath({ clientId: 'no-such-client', redirectUri: SPA_CB }));
      expect([unknown.status, unknown.location]).toEqual([400, null]);
    });

    it('a sign-in form that did not come from the page (CSRF): 403, no session, no code', async () => {
      const browser = new Browser(t);
      const page = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, challenge: pkce().challenge }));
      const request = inputValue(page.text, 'authorization_request')!;
      const noToken = await browser.post('/oauth/authorize', { authorization_request: request, email: user.email, password: user.password });
      expect([noToken.status, noToken.location]).toEqual([403, null]);
      const otherSite = await submitSignIn(browser, page, user, { origin: 'https://evil.example.com' });
      expect([otherSite.status, otherSite.location]).toEqual([403, null]);
      const fresh = new Browser(t);
      const forged = await fresh.post('/oauth/authorize', { _csrf: inputValue(page.text, '_csrf')!, authorization_request: request, email: user.email, password: user.password });
      expect(forged.status).toBe(403);
      expect(browser.cookies.has('lk_session')).toBe(false);
    });

    it('a planted session id: never adopted, and a new one at sign-in', async () => {
      const browser = new Browser(t);
      const planted = 'A'.repeat(43);
      browser.cookies.set('lk_session', planted);
      const page = await browser.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, challenge: pkce().challenge }));
      expect(page.status).toBe(200);
      const signedIn = await submitSignIn(browser, page, user);
      expect(signedIn.status).toBe(303);
      expect(browser.cookies.get('lk_session')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(browser.cookies.get('lk_session')).not.toBe(planted);
      const attacker = new Browser(t);
      attacker.cookies.set('lk_session', planted);
      expect((await attacker.get(authorizePath({ clientId: spa.clientId, redirectUri: SPA_CB, challenge: pkce().challenge }))).status).toBe(200);
    });

    it('takes an authorization request by form POST too (OpenID Connect Core 3.1.2.1)', async () => {
      const browser = new Browser(t);
      const { challenge } = pkce();
      const page = await browser.post('/oauth/authorize', { response_type: 'code', client_id: spa.clientId, redirect_uri: SPA_CB, code_challenge: challenge, code_challenge_method: 'S256', state: 'p' }, { origin: 'https://app.example.com' });
      expect(page.status).toBe(200);
      const back = await submitSignIn(browser, page, user);
      expect(redirectQuery(back.location)).toMatchObject({ state: 'p', code: expect.any(String) });
    });

    it('a confidential client without PKCE by default, and request objects', async () => {
      const browser = new Browser(t);
      const noPkce = await browser.get(authorizePath({ clientId: web.clientId, redirectUri: WEB_CB }));
      expect(redirectQuery(noPkce.location).error).toBe('invalid_request');
      const req = await browser.get(authorizePath({ clientId: web.clientId, redirectUri: WEB_CB, challenge: pkce().challenge, extra: { request: 'eyJ.x.y' } }));
      expect(redirectQuery(req.location).error).toBe('request_not_supported');
      const type = await browser.get(authorizePath({ clientId: web.clientId, redirectUri: WEB_CB, challenge: pkce().challenge, extra: { response_type: 'token' } }));
      expect(redirectQuery(type.location).error).toBe('unsupported_response_type');
      const scope = await browser.get(authorizePath({ clientId: web.clientId, redirectUri: WEB_CB, challenge: pkce().challenge, scope: 'openid admin' }));
      expect(redirectQuery(scope.location).error).toBe('invalid_scope');
    });
  });
});
