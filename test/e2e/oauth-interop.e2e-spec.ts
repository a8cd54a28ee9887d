import { type JWTPayload, type JWTVerifyResult, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  type ClientAuth,
  ClientSecretBasic,
  ClientSecretPost,
  type Configuration,
  None,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  allowInsecureRequests,
  clientCredentialsGrant,
  discovery,
  fetchProtectedResource,
  fetchUserInfo,
  genericGrantRequest,
  refreshTokenGrant,
} from 'openid-client';
import { createClient, createUser, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Latchkey as standard libraries see it: openid-client (v6) discovers it and runs the password,
 * refresh_token and client_credentials grants with each client authentication method, and jose
 * verifies the access tokens the way a resource server would, from the published JWKS alone.
 */

const DEFAULT_TTL = 900;
const USER_ROLES = ['security', 'reports.reader'];

type Method = 'client_secret_basic' | 'client_secret_post' | 'none';

interface AccessClaims extends JWTPayload {
  client_id: string;
  sid?: string;
  scope: string;
  roles: string[];
  iat_ms: number;
}

/**
 * How openid-client reports an RFC 6749 section 5.2 error: a ResponseBodyError, or, when the answer
 * carries a WWW-Authenticate challenge (401 invalid_client), a WWWAuthenticateChallengeError whose
 * unread body holds the same JSON.
 */
async function expectOAuthError(promise: Promise<unknown>, error: string, status = 400) {
  const err = await promise.then(
    () => {
      throw new Error(`expected the token endpoint to answer ${error}, but it succeeded`);
    },
    (e: unknown) => e,
  );
  if (err instanceof WWWAuthenticateChallengeError) {
    expect(err.status).toBe(status);
    expect(err.cause.map((c) => c.scheme)).toEqual(['basic']);
    expect(await err.response.json()).toMatchObject({ error });
    return;
  }
  expect(err).toBeInstanceOf(ResponseBodyError);
  expect(err).toMatchObject({ error, status });
}

/** openid-client's view of a refused bearer token: a Bearer challenge naming the error. */
async function expectBearerChallenge(promise: Promise<unknown>, status: number, error: string) {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ${status} Bearer challenge, but the request succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WWWAuthenticateChallengeError);
  const challenge = err as WWWAuthenticateChallengeError;
  expect(challenge.status).toBe(status);
  expect(challenge.cause).toEqual([expect.objectContaining({ scheme: 'bearer', parameters: expect.objectContaining({ error }) })]);
}

describe('OAuth interop: openid-client drives Latchkey, jose verifies its tokens', () => {
  let t: TestApp;
  let user: Awaited<ReturnType<typeof createUser>>;
  /** A confidential client for each secret method, and a public one; all may use password + refresh. */
  const clients = {} as Record<Method, TestClient>;
  /** A confidential client for machine-to-machine use only. */
  let service: TestClient;
  /** The resource server's view: a remote JWK Set fetched from the discovered jwks_uri. */
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  const authFor = (method: Method, c: TestClient): ClientAuth =>
    method === 'client_secret_basic' ? ClientSecretBasic(c.clientSecret) : method === 'client_secret_post' ? ClientSecretPost(c.clientSecret) : None();

  /** Configures openid-client from the issuer URL alone, as an application would. */
  const discover = (c: TestClient, method: Method, algorithm: 'oidc' | 'oauth2' = 'oidc'): Promise<Configuration> =>
    discovery(new URL(t.url), c.clientId, c.clientSecret, authFor(method, c), { execute: [allowInsecureRequests], algorithm });

  /** Verifies as a resource server: signature by a JWKS key, iss, aud, typ, alg, exp. */
  const verify = (token: string): Promise<JWTVerifyResult<AccessClaims>> =>
    jwtVerify<AccessClaims>(token, jwks, { issuer: t.url, audience: t.url, typ: 'at+jwt', algorithms: ['ES256'] });

  const passwordGrant = (config: Configuration, scope = 'read write') =>
    genericGrantRequest(config, 'password', { username: user.email, password: user.password, scope });

  /** The RFC 9068 header, and a kid that the published JWK Set holds. */
  async function expectAccessTokenHeader(token: string) {
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(typeof header.kid).toBe('string');
    const published = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((k) => k.kid)).toContain(header.kid);
  }

  /** Claims every access token carries, whoever it was issued to. */
  function expectCommonClaims(payload: AccessClaims, expiresIn: number | undefined, issuedBetween: [number, number]) {
    expect(payload.iss).toBe(t.url);
    expect(payload.aud).toBe(t.url);
    expect(typeof payload.iat).toBe('number');
    expect(typeof payload.exp).toBe('number');
    expect(expiresIn).toBe(DEFAULT_TTL);
    expect(payload.exp! - payload.iat!).toBe(expiresIn);
    expect(payload.iat!).toBeGreaterThanOrEqual(Math.floor(issuedBetween[0] / 1000));
    expect(payload.iat!).toBeLessThanOrEqual(Math.floor(issuedBetween[1] / 1000));
    expect(payload.iat_ms).toBeGreaterThanOrEqual(issuedBetween[0]);
    expect(payload.iat_ms).toBeLessThanOrEqual(issuedBetween[1]);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(Array.isArray(payload.roles)).toBe(true);
  }

  beforeAll(async () => {
    t = await startTestApp();
    user = await createUser(t.app, { roles: USER_ROLES });
    clients.client_secret_basic = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    clients.client_secret_post = await createClient(t.app, { type: 'confidential', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    clients.none = await createClient(t.app, { type: 'public', grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    service = await createClient(t.app, { type: 'confidential', grants: ['client_credentials'], scopes: ['reports:read', 'reports:write'] });
    const config = await discover(clients.none, 'none');
    jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
  });
  afterAll(() => t?.close());

  describe('discovery', () => {
    it('publishes the same RFC 8414 metadata at both well-known addresses, with the app URL as issuer', async () => {
      const [oidc, oauth] = await Promise.all(
        ['openid-configuration', 'oauth-authorization-server'].map(async (doc) => {
          const res = await fetch(`${t.url}/.well-known/${doc}`);
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/^application\/json/);
          return (await res.json()) as Record<string, unknown>;
        }),
      );
      expect(oauth).toEqual(oidc);
      expect(oidc).toMatchObject({
        issuer: t.url,
        token_endpoint: `${t.url}/oauth/token`,
        jwks_uri: `${t.url}/.well-known/jwks.json`,
        userinfo_endpoint: `${t.url}/userinfo`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      });
      expect(oidc.grant_types_supported).toEqual(expect.arrayContaining(['password', 'refresh_token', 'client_credentials']));
    });

    it.each(['oidc', 'oauth2'] as const)('lets openid-client discover it from the issuer URL alone (%s well-known document)', async (algorithm) => {
      const config = await discover(clients.client_secret_basic, 'client_secret_basic', algorithm);
      const metadata = config.serverMetadata();
      expect(metadata.issuer).toBe(t.url);
      expect(metadata.token_endpoint).toBe(`${t.url}/oauth/token`);
      expect(metadata.jwks_uri).toBe(`${t.url}/.well-known/jwks.json`);
      expect(metadata.userinfo_endpoint).toBe(`${t.url}/userinfo`);
    });

    it('publishes only public ES256 verification keys, each with a kid, in the JWK Set', async () => {
      const res = await fetch(`${t.url}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
        expect(typeof key.kid).toBe('string');
        expect(key).not.toHaveProperty('d');
      }
    });
  });

  describe.each(['client_secret_basic', 'client_secret_post', 'none'] as const)('a client authenticating with %s', (method) => {
    let config: Configuration;
    beforeAll(async () => {
      config = await discover(clients[method], method);
    });

    it('gets an RFC 9068 access token for the user on the password grant, verifiable from the JWKS', async () => {
      const before = Date.now();
      const tokens = await passwordGrant(config);
      const after = Date.now();
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.expires_in).toBe(DEFAULT_TTL);
      expect(tokens.scope).toBe('read write');
      expect(typeof tokens.refresh_token).toBe('string');

      await expectAccessTokenHeader(tokens.access_token);
      const { payload, protectedHeader } = await verify(tokens.access_token);
      expect(protectedHeader).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      expectCommonClaims(payload, tokens.expires_in, [before, after]);
      expect(payload.sub).toBe(user.id);
      expect(payload.client_id).toBe(clients[method].clientId);
      expect(typeof payload.sid).toBe('string');
      expect(payload.scope).toBe('read write');
      expect(payload.roles).toEqual(expect.arrayContaining(USER_ROLES));
      expect(payload.roles).toHaveLength(USER_ROLES.length);
    });

    it('narrows the token to the scope asked for', async () => {
      const tokens = await passwordGrant(config, 'read');
      expect(tokens.scope).toBe('read');
      expect((await verify(tokens.access_token)).payload.scope).toBe('read');
    });

    it('rotates the refresh token: a new one in the same session, and the used one is then refused', async () => {
      const first = await passwordGrant(config);
      const firstClaims = (await verify(first.access_token)).payload;

      const before = Date.now();
      const second = await refreshTokenGrant(config, first.refresh_token!);
      const after = Date.now();
      expect(typeof second.refresh_token).toBe('string');
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.scope).toBe('read write');

      await expectAccessTokenHeader(second.access_token);
      const { payload } = await verify(second.access_token);
      expectCommonClaims(payload, second.expires_in, [before, after]);
      expect(payload.sub).toBe(user.id);
      expect(payload.client_id).toBe(clients[method].clientId);
      expect(payload.sid).toBe(firstClaims.sid);
      expect(payload.jti).not.toBe(firstClaims.jti);
      expect(payload.roles).toEqual(firstClaims.roles);

      await expectOAuthError(refreshTokenGrant(config, first.refresh_token!), 'invalid_grant');
    });

    it('ends the whole session when a used refresh token comes back: its successor and access token are refused too', async () => {
      const first = await passwordGrant(config);
      const second = await refreshTokenGrant(config, first.refresh_token!);
      expect((await fetchUserInfo(config, second.access_token, user.id)).sub).toBe(user.id);

      await expectOAuthError(refreshTokenGrant(config, first.refresh_token!), 'invalid_grant');
      await expectOAuthError(refreshTokenGrant(config, second.refresh_token!), 'invalid_grant');
      await expectBearerChallenge(fetchUserInfo(config, second.access_token, user.id), 401, 'invalid_token');
    });

    it('reads the user profile from /userinfo with the access token', async () => {
      const tokens = await passwordGrant(config);
      const info = await fetchUserInfo(config, tokens.access_token, user.id);
      expect(info.sub).toBe(user.id);
      expect(info.email).toBe(user.email);

      const res = await fetchProtectedResource(config, tokens.access_token, new URL(config.serverMetadata().userinfo_endpoint!), 'GET');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ sub: user.id, email: user.email, roles: expect.arrayContaining(USER_ROLES) });
    });

    it('is refused on a wrong password with invalid_grant', async () => {
      await expectOAuthError(genericGrantRequest(config, 'password', { username: user.email, password: 'not the password at all' }), 'invalid_grant');
    });
  });

  describe.each(['client_secret_basic', 'client_secret_post'] as const)('the client_credentials grant with %s', (method) => {
    let config: Configuration;
    beforeAll(async () => {
      config = await discover(service, method);
    });

    it('issues a token for the client itself: sub is the client_id, no session, no refresh token, no roles', async () => {
      const before = Date.now();
      const tokens = await clientCredentialsGrant(config, { scope: 'reports:read' });
      const after = Date.now();
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.expires_in).toBe(DEFAULT_TTL);
      expect(tokens.scope).toBe('reports:read');
      expect(tokens.refresh_token).toBeUndefined();

      await expectAccessTokenHeader(tokens.access_token);
      const { payload } = await verify(tokens.access_token);
      expectCommonClaims(payload, tokens.expires_in, [before, after]);
      expect(payload.sub).toBe(service.clientId);
      expect(payload.client_id).toBe(service.clientId);
      expect(payload).not.toHaveProperty('sid');
      expect(payload.scope).toBe('reports:read');
      expect(payload.roles).toEqual([]);
    });

    it('grants every registered scope when none is asked for', async () => {
      const tokens = await clientCredentialsGrant(config);
      expect(tokens.scope).toBe('reports:read reports:write');
      expect((await verify(tokens.access_token)).payload.scope).toBe('reports:read reports:write');
    });

    it('refuses a scope the client was not registered for with invalid_scope', async () => {
      await expectOAuthError(clientCredentialsGrant(config, { scope: 'admin' }), 'invalid_scope');
    });

    it('is not a user: /userinfo answers 403 to its token', async () => {
      const tokens = await clientCredentialsGrant(config);
      const res = await fetchProtectedResource(config, tokens.access_token, new URL(`${t.url}/userinfo`), 'GET');
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'USER_TOKEN_REQUIRED' });
    });
  });

  describe('client authentication', () => {
    it('refuses a wrong secret with invalid_client, by Basic and by post', async () => {
      const c = { ...clients.client_secret_basic, clientSecret: 'wrong-secret' };
      for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
        const config = await discover(c, method);
        await expectOAuthError(passwordGrant(config), 'invalid_client', 401);
      }
    });

    it('refuses a confidential client that presents no secret', async () => {
      const config = await discover({ clientId: clients.client_secret_post.clientId }, 'none');
      await expectOAuthError(passwordGrant(config), 'invalid_client', 401);
    });

    it('refuses a refresh token presented by a client other than the one it was issued to', async () => {
      const basic = await discover(clients.client_secret_basic, 'client_secret_basic');
      const post = await discover(clients.client_secret_post, 'client_secret_post');
      const tokens = await passwordGrant(basic);
      await expectOAuthError(refreshTokenGrant(post, tokens.refresh_token!), 'invalid_grant');
    });
  });

  it('gives every access token its own jti, across grants, clients and refreshes', async () => {
    const basic = await discover(clients.client_secret_basic, 'client_secret_basic');
    const pub = await discover(clients.none, 'none');
    const machine = await discover(service, 'client_secret_post');
    const a = await passwordGrant(basic);
    const b = await passwordGrant(basic);
    const c = await refreshTokenGrant(basic, a.refresh_token!);
    const d = await passwordGrant(pub);
    const e = await refreshTokenGrant(pub, d.refresh_token!);
    const f = await clientCredentialsGrant(machine);
    const g = await clientCredentialsGrant(machine);
    const claims = await Promise.all([a, b, c, d, e, f, g].map(async (r) => (await verify(r.access_token)).payload));
    const jtis = claims.map((p) => p.jti);
    expect(new Set(jtis).size).toBe(jtis.length);
    // Each login is its own session; a refresh stays in its session.
    expect(new Set([claims[0].sid, claims[1].sid, claims[3].sid]).size).toBe(3);
    expect(claims[2].sid).toBe(claims[0].sid);
    expect(claims[4].sid).toBe(claims[3].sid);
  });
});
