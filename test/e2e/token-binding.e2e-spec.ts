import { authGet, basic, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { accessTokenClaims, forgeToken, serverSigningKey } from '../support/jwt.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Tokens are bound to what issued them: a refresh token to its client (another client presenting it
 * changes nothing and learns nothing), an access token to the lifetime tokens are issued for and to
 * the ids Latchkey issues.
 */
describe('token binding', () => {
  let t: TestApp;
  let owner: TestClient;
  let stranger: TestClient;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'] });
    stranger = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token', 'client_credentials'] });
  });
  afterAll(() => t?.close());

  const refresh = (client: TestClient, refreshToken: string) => tokenRequest(t, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
  async function introspect(by: TestClient, token: string) {
    const res = await fetch(`${t.url}/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(by) },
      body: new URLSearchParams({ token }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  describe('a refresh token presented by another client', () => {
    it('is refused without raising the reuse alarm when it is spent: the owner’s session lives on', async () => {
      const user = await createUser(t.app);
      const first = await login(t, owner, user);
      const rotated = await refresh(owner, first.refresh_token);
      expect(rotated.status).toBe(200);
      // The spent token, by another client: the same answer as any bad token, and nothing ends.
      const foreign = await refresh(stranger, first.refresh_token);
      expect({ status: foreign.status, error: foreign.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
      expect((await authGet(t, '/userinfo', rotated.body.access_token)).status).toBe(200);
      const next = await refresh(owner, rotated.body.refresh_token);
      expect(next.status).toBe(200);
      // The owner presenting the spent token still raises the alarm.
      const reuse = await refresh(owner, first.refresh_token);
      expect(reuse.body.error).toBe('invalid_grant');
      expect((await authGet(t, '/userinfo', next.body.access_token)).status).toBe(401);
    });

    it('is not introspectable by another client: active: false and nothing else, while its own client sees it active', async () => {
      const user = await createUser(t.app);
      const tokens = await login(t, owner, user);
      expect(await introspect(stranger, tokens.refresh_token)).toEqual({ status: 200, body: { active: false } });
      const own = await introspect(owner, tokens.refresh_token);
      expect(own.body).toMatchObject({ active: true, client_id: owner.clientId, username: user.email });
      // Access tokens stay introspectable by any confidential client (resource servers, RFC 7662).
      expect((await introspect(stranger, tokens.access_token)).body).toMatchObject({ active: true, client_id: owner.clientId });
    });
  });

  describe('a correctly signed access token that Latchkey would never issue', () => {
    let user: Awaited<ReturnType<typeof createUser>>;
    let sid: string;

    beforeAll(async () => {
      user = await createUser(t.app);
      const tokens = await login(t, owner, user);
      sid = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString()).sid as string;
    });

    const forge = (claims: Record<string, unknown>) => forgeToken(serverSigningKey(t), accessTokenClaims(t, { sub: user.id, clientId: owner.clientId, sid, scope: 'read' }), { claims });

    it('passes as the control, forged with the same key and honest claims', async () => {
      expect((await authGet(t, '/userinfo', await forge({}))).status).toBe(200);
    });

    it.each([
      ['lives longer than ACCESS_TOKEN_TTL allows', (iat: number) => ({ exp: iat + 900 + 3600 })],
      ['names a user whose id is not a UUID', () => ({ sub: 'not-a-uuid' })],
      ['names a user id of the right length that is not a UUID', () => ({ sub: '-'.repeat(36) })],
      ['names a session that is not a UUID', () => ({ sid: 'not-a-session' })],
      ['carries a control character in its client id', () => ({ client_id: 'client\u0000id' })],
    ])('is refused with 401 invalid_token when it %s', async (_what, change) => {
      const iat = Math.floor(Date.now() / 1000);
      const res = await authGet(t, '/userinfo', await forge(change(iat)));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
      expect(res.body).toMatchObject({ code: 'INVALID_TOKEN' });
    });

    it('is inactive to introspection too', async () => {
      const res = await introspect(stranger, await forge({ sub: '-'.repeat(36) }));
      expect(res).toEqual({ status: 200, body: { active: false } });
    });
  });
});
