import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  buildEndSessionUrl,
  calculatePKCECodeChallenge,
  ClientSecretBasic,
  type Configuration,
  discovery,
  fetchUserInfo,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import { Browser, submitSignIn } from '../support/authorize-flow.js';
import { createClient, createUser, type TestClient } from '../support/fixtures.js';
import { startTestApp } from '../support/test-app.js';

/**
 * A server-side web app built on openid-client (v6) signs users in with the authorization code flow
 * (PKCE, state and nonce checked by the library), reads userinfo and signs them out through the
 * end-session endpoint, with no code of its own for the protocol. And CORS, per client.
 */
describe('openid-client runs the authorization code flow and RP-initiated logout unchanged', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  let web: TestClient;
  let config: Configuration;
  const CALLBACK = 'http://127.0.0.1:7100/auth/callback';
  const AFTER = 'http://127.0.0.1:7100/';

  beforeAll(async () => {
    t = await startTestApp();
    web = await createClient(t.app, { type: 'confidential', grants: ['authorization_code', 'refresh_token'], scopes: ['openid', 'email', 'profile'], redirectUris: [CALLBACK], postLogoutRedirectUris: [AFTER] });
    config = await discovery(new URL(t.url), web.clientId, web.clientSecret, ClientSecretBasic(web.clientSecret), { execute: [allowInsecureRequests] });
  });
  afterAll(() => t?.close());

  it('discovers the authorization endpoint, gets a code through the hosted page, and verifies the ID token', async () => {
    expect(config.serverMetadata()).toMatchObject({
      authorization_endpoint: `${t.url}/oauth/authorize`,
      end_session_endpoint: `${t.url}/oauth/logout`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['ES256'],
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
      scopes_supported: expect.arrayContaining(['openid', 'email', 'profile']),
      grant_types_supported: expect.arrayContaining(['authorization_code']),
    });
    const user = await createUser(t.app);
    const codeVerifier = randomPKCECodeVerifier();
    const state = randomState();
    const nonce = randomNonce();
    const url = buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email profile',
      code_challenge: await calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    expect(url.origin + url.pathname).toBe(`${t.url}/oauth/authorize`);

    const browser = new Browser(t);
    const page = await browser.get(url.pathname + url.search);
    expect(page.status).toBe(200);
    const back = await submitSignIn(browser, page, user);
    expect(back.status).toBe(303);

    const tokens = await authorizationCodeGrant(config, new URL(back.location!), { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: t.url, sub: user.id, aud: web.clientId, nonce });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    await expect(jwtVerify(tokens.id_token!, jwks, { issuer: t.url, audience: web.clientId, algorithms: ['ES256'] })).resolves.toBeDefined();

    const info = await fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, email: user.email, preferred_username: user.email });

    // The state check is openid-client's: a callback with another state is refused by the library.
    const refused = (await authorizationCodeGrant(config, new URL(back.location!), { pkceCodeVerifier: codeVerifier, expectedState: 'another', expectedNonce: nonce }).catch((e: unknown) => e)) as Error & { cause?: Error };
    expect(refused).toBeInstanceOf(Error);
    expect(`${refused.message} ${refused.cause?.message ?? ''}`).toMatch(/state/);

    const end = buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER, state: 'after-logout' });
    expect(end.origin + end.pathname).toBe(`${t.url}/oauth/logout`);
    const out = await browser.get(end.pathname + end.search);
    expect([out.status, out.location]).toEqual([303, `${AFTER}?state=after-logout`]);
    await expect(fetchUserInfo(config, tokens.access_token, user.id)).rejects.toThrow();
  });

  describe('CORS on the token, revocation and userinfo endpoints', () => {
    let spa: TestClient;
    let other: TestClient;
    const SPA = 'http://127.0.0.1:7200';
    const OTHER = 'http://127.0.0.1:7300';

    beforeAll(async () => {
      spa = await createClient(t.app, { type: 'public', grants: ['authorization_code'], scopes: ['openid'], redirectUris: [`${SPA}/cb`], allowedOrigins: [SPA] });
      other = await createClient(t.app, { type: 'public', grants: ['authorization_code'], scopes: ['openid'], redirectUris: [`${OTHER}/cb`], allowedOrigins: [OTHER] });
    });

    const preflight = (path: string, origin: string) =>
      fetch(`${t.url}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const tokenCall = (origin: string, clientId: string) =>
      fetch(`${t.url}/oauth/token`, { method: 'POST', headers: { origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: `${SPA}/cb`, client_id: clientId }) });

    it('answers a preflight from an allowed origin with that exact origin, never *', async () => {
      for (const path of ['/oauth/token', '/oauth/revoke', '/userinfo']) {
        const r = await preflight(path, SPA);
        expect(r.status).toBe(204);
        expect(r.headers.get('access-control-allow-origin')).toBe(SPA);
        expect(r.headers.get('access-control-allow-methods')).toContain('POST');
        expect(r.headers.get('access-control-allow-credentials')).toBeNull();
        expect(r.headers.get('vary')).toMatch(/origin/i);
      }
      const stranger = await preflight('/oauth/token', 'https://evil.example.com');
      expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('answers a request only for its own client’s origins', async () => {
      const own = await tokenCall(SPA, spa.clientId);
      expect(own.status).toBe(400);
      expect(own.headers.get('access-control-allow-origin')).toBe(SPA);
      // Allowed for another client, not for this one: no CORS headers.
      const crossed = await tokenCall(OTHER, spa.clientId);
      expect(crossed.headers.get('access-control-allow-origin')).toBeNull();
      const stranger = await tokenCall('https://evil.example.com', spa.clientId);
      expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
      void other;
    });
  });
});
