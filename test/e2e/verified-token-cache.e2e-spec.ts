import { authGet, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { accessTokenClaims, claimsOf, forgeToken, serverSigningKey } from '../support/jwt.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** The verified-token cache saves the signature check only: revocation and expiry still apply. */
describe('verified-token cache', () => {
  let t: TestApp;
  let web: TestClient;

  beforeAll(async () => {
    t = await startTestApp();
    web = await createClient(t.app, { grants: ['password', 'refresh_token'] });
  });
  afterAll(() => t?.close());

  it('still checks revocation on every request for a token it has seen', async () => {
    const user = await createUser(t.app);
    const tokens = await login(t, web, user);
    for (let i = 0; i < 3; i++) expect((await authGet(t, '/userinfo', tokens.access_token)).status).toBe(200);
    await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    const r = await authGet(t, '/userinfo', tokens.access_token);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/token revoked/);
  });

  it('never serves a token at or past its exp', async () => {
    const user = await createUser(t.app);
    const { sid } = claimsOf((await login(t, web, user)).access_token);
    const claims = accessTokenClaims(t, { sub: user.id, clientId: web.clientId, sid, scope: 'read' });
    const exp = (claims.iat as number) + 2;
    const token = await forgeToken(serverSigningKey(t), claims, { claims: { exp } });
    expect((await authGet(t, '/userinfo', token)).status).toBe(200);
    expect((await authGet(t, '/userinfo', token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    const after = await authGet(t, '/userinfo', token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/token expired/);
  });
});
