import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import {
  type ClientAuth,
  ClientSecretBasic,
  ClientSecretPost,
  type Configuration,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  allowInsecureRequests,
  discovery,
  genericGrantRequest,
  refreshTokenGrant,
  tokenIntrospection,
  tokenRevocation,
} from 'openid-client';
import { DataSource } from 'typeorm';
import { authGet, basic, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { accessTokenClaims, type Claims, forgeToken, serverSigningKey } from '../support/jwt.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * RFC 7662 introspection (POST /oauth/introspect) and RFC 7009 revocation (POST /oauth/revoke):
 * first as openid-client sees them through discovery, with client_secret_basic and
 * client_secret_post; then the edge cases over plain form-encoded HTTP.
 */

const DEFAULT_TTL = 900;

type SecretMethod = 'client_secret_basic' | 'client_secret_post';

/** openid-client's view of an RFC 6749 section 5.2 error (see oauth-interop.e2e-spec.ts). */
async function expectOAuthError(promise: Promise<unknown>, error: string, status = 400) {
  const err = await promise.then(
    () => {
      throw new Error(`expected the endpoint to answer ${error}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  if (err instanceof WWWAuthenticateChallengeError) {
    expect(err.status).toBe(status);
    expect(await err.response.json()).toMatchObject({ error });
    return;
  }
  expect(err).toBeInstanceOf(ResponseBodyError);
  expect(err).toMatchObject({ error, status });
}

describe('RFC 7662 introspection and RFC 7009 revocation', () => {
  let t: TestApp;
  let db: DataSource;
  let user: Awaited<ReturnType<typeof createUser>>;
  /** A confidential client per secret method; both may use password + refresh. */
  const apps = {} as Record<SecretMethod, TestClient>;
  /** A resource server: a confidential client that only introspects. */
  let rs: TestClient;
  /** A confidential app and a public app, for the plain-HTTP cases. */
  let web: TestClient;
  let other: TestClient;
  let spa: TestClient;
  /** Clients a case creates for itself. */
  const moreClients: TestClient[] = [];

  const authFor = (method: SecretMethod, c: TestClient): ClientAuth => (method === 'client_secret_basic' ? ClientSecretBasic(c.clientSecret) : ClientSecretPost(c.clientSecret));

  const discover = (c: TestClient, method: SecretMethod): Promise<Configuration> =>
    discovery(new URL(t.url), c.clientId, c.clientSecret, authFor(method, c), { execute: [allowInsecureRequests] });

  /** A form-encoded POST to an OAuth endpoint; the client authenticates with Basic, or with client_id alone, or not at all. */
  async function post(path: 'introspect' | 'revoke', client: TestClient | null, params: Record<string, string>, init: { headers?: Record<string, string>; body?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...init.headers };
    const body = new URLSearchParams(params);
    if (client?.clientSecret) headers.authorization = basic(client);
    else if (client) body.set('client_id', client.clientId);
    const res = await fetch(`${t.url}/oauth/${path}`, { method: 'POST', headers, body: init.body ?? body.toString() });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  }

  const introspect = (token: string, params: Record<string, string> = {}, by: TestClient | null = rs) => post('introspect', by, { token, ...params });
  const revoke = (client: TestClient | null, token: string, params: Record<string, string> = {}) => post('revoke', client, { token, ...params });
  const refresh = (client: TestClient, refreshToken: string) => tokenRequest(t, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
  const userinfo = (token: string) => authGet(t, '/userinfo', token);

  function expectNoStore(headers: Headers) {
    expect(headers.get('cache-control')).toMatch(/\bno-store\b/);
  }

  /**
   * Who can see a token's state: an access token, any resource server (`rs`); a refresh token, only
   * the client it was issued to (to every other client it is `active: false`). A public client
   * cannot introspect at all, so its refresh tokens are judged in the database: live means unused,
   * its session neither revoked nor expired, its user and its client active.
   */
  async function introspectorOf(token: string): Promise<TestClient | 'database'> {
    if (token.split('.').length === 3) return rs;
    const [row] = await db.query(
      `SELECT s.client_id, c.status AS client_status FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN clients c ON c.client_id = s.client_id WHERE rt.token_hash = $1`,
      [createHash('sha256').update(token).digest('hex')],
    );
    const owner = [...Object.values(apps), web, other, spa, ...moreClients].find((c) => c.clientId === row?.client_id);
    if (!owner) return rs;
    // A revoked client cannot authenticate to introspect its own token any more.
    return owner.clientSecret && row.client_status === 'active' ? owner : 'database';
  }

  async function liveInDatabase(refreshToken: string): Promise<boolean> {
    const [row] = await db.query(
      `SELECT (rt.used_at IS NULL AND rt.expires_at > now() AND s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now()
               AND u.status = 'active' AND c.status = 'active') AS live
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id JOIN clients c ON c.client_id = s.client_id
        WHERE rt.token_hash = $1`,
      [createHash('sha256').update(refreshToken).digest('hex')],
    );
    return row?.live === true;
  }

  /** RFC 7662 section 2.2: an inactive token is answered `{"active": false}` and nothing else. */
  async function expectInactive(token: string, params: Record<string, string> = {}) {
    const by = await introspectorOf(token);
    if (by === 'database') return expect(await liveInDatabase(token)).toBe(false);
    const res = await introspect(token, params, by);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectNoStore(res.headers);
    expect(res.body).toEqual({ active: false });
  }

  async function expectActive(token: string, params: Record<string, string> = {}) {
    const by = await introspectorOf(token);
    if (by === 'database') {
      expect(await liveInDatabase(token)).toBe(true);
      return { active: true };
    }
    const res = await introspect(token, params, by);
    expect(res.status).toBe(200);
    expectNoStore(res.headers);
    expect(res.body).toMatchObject({ active: true });
    return res.body!;
  }

  /** An RFC 6749 section 5.2 error answer, never cached. */
  function expectOAuthErrorBody(res: { status: number; headers: Headers; body?: Record<string, any> }, status: number, error: string) {
    expect({ status: res.status, error: res.body?.error }).toEqual({ status, error });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectNoStore(res.headers);
  }

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    user = await createUser(t.app);
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      apps[method] = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    }
    rs = await createClient(t.app, { type: 'confidential', grants: ['client_credentials'], scopes: ['introspect'] });
    web = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    other = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    spa = await createClient(t.app, { type: 'public', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
  });
  afterAll(() => t?.close());

  it('publishes both endpoints and their client authentication methods in discovery', async () => {
    const config = await discover(apps.client_secret_basic, 'client_secret_basic');
    const metadata = config.serverMetadata();
    expect(metadata.revocation_endpoint).toBe(`${t.url}/oauth/revoke`);
    expect(metadata.introspection_endpoint).toBe(`${t.url}/oauth/introspect`);
    expect(metadata.revocation_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'none']));
    expect(metadata.introspection_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
    expect(metadata.introspection_endpoint_auth_methods_supported).not.toContain('none');
  });

  describe.each(['client_secret_basic', 'client_secret_post'] as const)('openid-client, authenticating with %s', (method) => {
    let config: Configuration;
    let first: { access_token: string; refresh_token: string };
    let second: { access_token: string; refresh_token: string };

    beforeAll(async () => {
      config = await discover(apps[method], method);
      const a = await genericGrantRequest(config, 'password', { username: user.email, password: user.password, scope: 'read write' });
      first = { access_token: a.access_token, refresh_token: a.refresh_token! };
      const b = await refreshTokenGrant(config, first.refresh_token);
      second = { access_token: b.access_token, refresh_token: b.refresh_token! };
      // Both access tokens belong to one session.
      expect(decodeJwt(second.access_token).sid).toBe(decodeJwt(first.access_token).sid);
    });

    it('introspects a live access token as active, with the RFC 7662 fields', async () => {
      const claims = decodeJwt(second.access_token);
      const result = await tokenIntrospection(config, second.access_token);
      expect(result).toMatchObject({
        active: true,
        scope: 'read write',
        client_id: apps[method].clientId,
        username: user.email,
        sub: user.id,
        aud: t.config.accessTokenAudience,
        iss: t.config.issuer,
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
      });
      expect(String(result.token_type).toLowerCase()).toBe('bearer');
      expect(result.exp! - result.iat!).toBe(DEFAULT_TTL);
      expect(result.iss).toBe(t.url);
    });

    it('introspects a live refresh token (hint refresh_token) as active, for its client and user', async () => {
      const result = await tokenIntrospection(config, second.refresh_token, { token_type_hint: 'refresh_token' });
      expect(result).toMatchObject({ active: true, client_id: apps[method].clientId, sub: user.id, username: user.email, scope: 'read write' });
      expect(typeof result.exp).toBe('number');
      expect(result.exp!).toBeGreaterThan(Math.floor(Date.now() / 1000));
      expect(typeof result.iat).toBe('number');
    });

    it('introspects the rotated-away refresh token as inactive', async () => {
      const result = await tokenIntrospection(config, first.refresh_token, { token_type_hint: 'refresh_token' });
      expect(result).toEqual({ active: false });
    });

    it('revokes the access token: introspection says inactive and /userinfo refuses it; the session lives on', async () => {
      expect((await userinfo(second.access_token)).status).toBe(200);
      await tokenRevocation(config, second.access_token);
      expect(await tokenIntrospection(config, second.access_token)).toEqual({ active: false });
      expect((await userinfo(second.access_token)).status).toBe(401);
      // Only that token: the session's other access token and its refresh token stay good.
      expect((await tokenIntrospection(config, first.access_token)).active).toBe(true);
      expect((await userinfo(first.access_token)).status).toBe(200);
      expect((await tokenIntrospection(config, second.refresh_token, { token_type_hint: 'refresh_token' })).active).toBe(true);
    });

    it("revokes the refresh token: the refresh grant fails with invalid_grant and the session's other access tokens are refused", async () => {
      await tokenRevocation(config, second.refresh_token, { token_type_hint: 'refresh_token' });
      expect(await tokenIntrospection(config, second.refresh_token, { token_type_hint: 'refresh_token' })).toEqual({ active: false });
      await expectOAuthError(refreshTokenGrant(config, second.refresh_token), 'invalid_grant');
      expect((await userinfo(first.access_token)).status).toBe(401);
      expect(await tokenIntrospection(config, first.access_token)).toEqual({ active: false });
    });
  });

  /** An access token signed with the server's active key; `claims` override the valid defaults. */
  const forge = (claims: Claims = {}): Promise<string> => forgeToken(serverSigningKey(t), accessTokenClaims(t, { sub: user.id, clientId: web.clientId, scope: 'read' }), { claims });

  describe('introspection edge cases (plain HTTP)', () => {
    it('says active for a token forged with the real key and every claim right (control for the expired case)', async () => {
      await expectActive(await forge());
    });

    it('says active: false, and nothing else, for an expired token', async () => {
      const iat = Math.floor(Date.now() / 1000) - 3600;
      const token = await forge({ iat, iat_ms: iat * 1000, exp: iat + 600 });
      await expectInactive(token);
      await expectInactive(token, { token_type_hint: 'access_token' });
      await expectInactive(token, { token_type_hint: 'refresh_token' });
    });

    it.each([
      ['a word', 'garbage'],
      ['three segments of nonsense', 'a.b.c'],
      ['a random opaque string', randomBytes(32).toString('base64url')],
      ['a very long string', 'x'.repeat(5000)],
    ])('says active: false, and nothing else, for a garbage token (%s)', async (_name, token) => {
      await expectInactive(token);
      await expectInactive(token, { token_type_hint: 'refresh_token' });
    });

    it('says active: false for the access and refresh tokens of a user locked in the database, with no denylist entry', async () => {
      const locked = await createUser(t.app);
      const tokens = await login(t, web, locked);
      await expectActive(tokens.access_token);
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
      await db.query(`UPDATE users SET status='locked' WHERE id=$1`, [locked.id]);
      await expectInactive(tokens.access_token);
      await expectInactive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
      await expectInactive(tokens.refresh_token);
    });

    it('says active: false for the access and refresh tokens of a client revoked in the database, with no denylist entry', async () => {
      const doomed = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
      moreClients.push(doomed);
      const tokens = await login(t, doomed, user);
      await expectActive(tokens.access_token);
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
      await db.query(`UPDATE clients SET status='revoked' WHERE client_id=$1`, [doomed.clientId]);
      await expectInactive(tokens.access_token);
      await expectInactive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
    });

    it('says active: false for a used (rotated) refresh token, and introspecting it does not end the session', async () => {
      const tokens = await login(t, web, user);
      const next = await refresh(web, tokens.refresh_token);
      expect(next.status).toBe(200);
      await expectInactive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
      await expectInactive(tokens.refresh_token);
      // Introspection is not a presentation of the token: no reuse detection.
      await expectActive(next.body.refresh_token, { token_type_hint: 'refresh_token' });
      await expectActive(next.body.access_token);
    });

    it('introspects a token of another client for a resource server (any confidential client)', async () => {
      const tokens = await login(t, other, user);
      const body = await expectActive(tokens.access_token);
      expect(body.client_id).toBe(other.clientId);
    });

    it('answers 401 invalid_client without client authentication', async () => {
      const tokens = await login(t, web, user);
      const res = await introspect(tokens.access_token, {}, null);
      expectOAuthErrorBody(res, 401, 'invalid_client');
      expect(res.body).not.toHaveProperty('active');
    });

    it('answers 401 invalid_client for a wrong client secret', async () => {
      const tokens = await login(t, web, user);
      const res = await introspect(tokens.access_token, {}, { clientId: rs.clientId, clientSecret: `${rs.clientSecret}x` });
      expectOAuthErrorBody(res, 401, 'invalid_client');
    });

    it('answers 401 invalid_client to a public client', async () => {
      const tokens = await login(t, spa, user);
      const res = await introspect(tokens.access_token, {}, spa);
      expectOAuthErrorBody(res, 401, 'invalid_client');
      expect(res.body).not.toHaveProperty('active');
    });

    it('answers 400 invalid_request without a token', async () => {
      expectOAuthErrorBody(await post('introspect', rs, {}), 400, 'invalid_request');
      expectOAuthErrorBody(await post('introspect', rs, { token_type_hint: 'access_token' }), 400, 'invalid_request');
    });

    it('introspects a client_credentials token as active, without a username', async () => {
      const issued = await tokenRequest(t, rs, { grant_type: 'client_credentials', scope: 'introspect' });
      expect(issued.status).toBe(200);
      const body = await expectActive(issued.body.access_token);
      expect(body).toMatchObject({ client_id: rs.clientId, scope: 'introspect', iss: t.config.issuer, aud: t.config.accessTokenAudience });
      expect(body).not.toHaveProperty('username');
    });

    it('finds a refresh token sent with the wrong hint (access_token)', async () => {
      const tokens = await login(t, web, user);
      const body = await expectActive(tokens.refresh_token, { token_type_hint: 'access_token' });
      expect(body).toMatchObject({ client_id: web.clientId, sub: user.id });
      const access = await expectActive(tokens.access_token, { token_type_hint: 'refresh_token' });
      expect(access).toMatchObject({ client_id: web.clientId, sub: user.id, jti: decodeJwt(tokens.access_token).jti });
    });

    it('answers 400 invalid_request to a repeated token parameter, and does not read the token from the query string', async () => {
      const tokens = await login(t, web, user);
      const repeated = await post('introspect', rs, {}, { body: `token=${encodeURIComponent(tokens.access_token)}&token=other` });
      expectOAuthErrorBody(repeated, 400, 'invalid_request');
      const res = await fetch(`${t.url}/oauth/introspect?token=${encodeURIComponent(tokens.access_token)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rs) },
        body: '',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('sends Cache-Control: no-store on active answers too', async () => {
      const tokens = await login(t, web, user);
      const res = await introspect(tokens.access_token);
      expect(res.body?.active).toBe(true);
      expectNoStore(res.headers);
    });
  });

  describe('revocation edge cases (plain HTTP)', () => {
    /** RFC 7009 section 2.2: 200, never cached. */
    function expectRevoked(res: { status: number; headers: Headers }) {
      expect(res.status).toBe(200);
      expectNoStore(res.headers);
    }

    it('answers 200 for an unknown token, with or without a hint (RFC 7009 section 2.2)', async () => {
      expectRevoked(await revoke(web, 'no-such-token'));
      expectRevoked(await revoke(web, randomBytes(32).toString('base64url'), { token_type_hint: 'refresh_token' }));
      expectRevoked(await revoke(web, 'a.b.c', { token_type_hint: 'access_token' }));
    });

    it('refuses to revoke an access token issued to another client, and the token stays active', async () => {
      const tokens = await login(t, web, user);
      const res = await revoke(other, tokens.access_token);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body?.error).toBe('string');
      expectNoStore(res.headers);
      await expectActive(tokens.access_token);
      expect((await userinfo(tokens.access_token)).status).toBe(200);
    });

    it('refuses to revoke a refresh token issued to another client, and the session stays alive', async () => {
      const tokens = await login(t, web, user);
      const res = await revoke(other, tokens.refresh_token, { token_type_hint: 'refresh_token' });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body?.error).toBe('string');
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
      await expectActive(tokens.access_token);
      // A public client cannot revoke a confidential client's token either.
      const byPublic = await revoke(spa, tokens.refresh_token);
      expect(byPublic.status).toBeGreaterThanOrEqual(400);
      expect(byPublic.status).toBeLessThan(500);
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
    });

    it('answers 400 invalid_request without a token', async () => {
      expectOAuthErrorBody(await post('revoke', web, {}), 400, 'invalid_request');
      expectOAuthErrorBody(await post('revoke', web, { token_type_hint: 'refresh_token' }), 400, 'invalid_request');
    });

    it('answers 400 invalid_request to a JSON body, and revokes nothing', async () => {
      const tokens = await login(t, web, user);
      const res = await post('revoke', web, {}, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: tokens.refresh_token }) });
      expectOAuthErrorBody(res, 400, 'invalid_request');
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
    });

    it('answers 401 invalid_client without client authentication, or with a wrong secret', async () => {
      const tokens = await login(t, web, user);
      expectOAuthErrorBody(await revoke(null, tokens.refresh_token), 401, 'invalid_client');
      expectOAuthErrorBody(await revoke({ clientId: web.clientId, clientSecret: 'wrong' }, tokens.refresh_token), 401, 'invalid_client');
      // A confidential client may not fall back to client_id alone.
      const res = await post('revoke', null, { token: tokens.refresh_token, client_id: web.clientId });
      expectOAuthErrorBody(res, 401, 'invalid_client');
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
    });

    it('answers 200 to revoking the same access token twice', async () => {
      const tokens = await login(t, web, user);
      expectRevoked(await revoke(web, tokens.access_token));
      expectRevoked(await revoke(web, tokens.access_token));
      await expectInactive(tokens.access_token);
    });

    it('answers 200 to revoking the same refresh token twice', async () => {
      const tokens = await login(t, web, user);
      expectRevoked(await revoke(web, tokens.refresh_token));
      expectRevoked(await revoke(web, tokens.refresh_token));
      await expectInactive(tokens.refresh_token);
      await expectInactive(tokens.access_token);
    });

    it('lets a public client (client_id only) revoke its own refresh token, ending the session', async () => {
      const tokens = await login(t, spa, user);
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
      expectRevoked(await revoke(spa, tokens.refresh_token, { token_type_hint: 'refresh_token' }));
      await expectInactive(tokens.refresh_token);
      await expectInactive(tokens.access_token);
      expect((await userinfo(tokens.access_token)).status).toBe(401);
      const again = await refresh(spa, tokens.refresh_token);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    });

    it('lets a public client revoke its own access token', async () => {
      const tokens = await login(t, spa, user);
      expectRevoked(await revoke(spa, tokens.access_token));
      await expectInactive(tokens.access_token);
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
    });

    it('revokes an access token sent with the wrong hint (refresh_token): the server extends its search (RFC 7009 section 2.1)', async () => {
      const tokens = await login(t, web, user);
      expectRevoked(await revoke(web, tokens.access_token, { token_type_hint: 'refresh_token' }));
      await expectInactive(tokens.access_token);
      expect((await userinfo(tokens.access_token)).status).toBe(401);
      // Only the access token: the session lives on.
      await expectActive(tokens.refresh_token, { token_type_hint: 'refresh_token' });
    });

    it('revokes a refresh token sent with the wrong hint (access_token), ending its session', async () => {
      const tokens = await login(t, web, user);
      expectRevoked(await revoke(web, tokens.refresh_token, { token_type_hint: 'access_token' }));
      await expectInactive(tokens.refresh_token);
      await expectInactive(tokens.access_token);
      const again = await refresh(web, tokens.refresh_token);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    });

    it('answers 200 to revoking its own expired access token', async () => {
      const iat = Math.floor(Date.now() / 1000) - 3600;
      const expired = await forge({ iat, exp: iat + 600, iat_ms: iat * 1000 });
      expectRevoked(await revoke(web, expired));
    });

    it('revokes a token sent with an unknown hint', async () => {
      const tokens = await login(t, web, user);
      expectRevoked(await revoke(web, tokens.access_token, { token_type_hint: 'id_token' }));
      await expectInactive(tokens.access_token);
    });
  });
});
