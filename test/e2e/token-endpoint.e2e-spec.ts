import { availableParallelism } from 'node:os';
import { DataSource } from 'typeorm';
import { authGet, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('POST /oauth/token', () => {
  let t: TestApp;
  let web: TestClient;
  let spa: TestClient;
  let machine: TestClient;
  let user: Awaited<ReturnType<typeof createUser>>;
  let db: DataSource;

  const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    web = await createClient(t.app, { grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    spa = await createClient(t.app, { type: 'public', grants: ['password', 'refresh_token'], scopes: ['read'] });
    machine = await createClient(t.app, { grants: ['client_credentials'], scopes: ['reports'] });
    user = await createUser(t.app, { roles: ['staff'] });
  });
  afterAll(() => t?.close());

  describe('password grant', () => {
    it('issues a bearer access token and a refresh token, never cached', async () => {
      const r = await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password, scope: 'read' });
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('pragma')).toBe('no-cache');
      expect(r.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, refresh_token: expect.any(String), scope: 'read' });
      expect((await authGet(t, '/userinfo', r.body.access_token)).body).toMatchObject({ sub: user.id, email: user.email, roles: ['staff'] });
    });

    it('grants every scope of the client when none is asked for, and accepts the username in any case', async () => {
      const r = await tokenRequest(t, web, { grant_type: 'password', username: user.email.toUpperCase(), password: user.password });
      expect(r.status).toBe(200);
      expect(r.body.scope).toBe('read write');
    });

    it('starts a new session on every login', async () => {
      const before = await count('sessions');
      await login(t, web, user);
      await login(t, web, user);
      expect(await count('sessions')).toBe(before + 2);
    });

    it('accepts client_secret_post, and a public client that authenticates with its client_id alone', async () => {
      const post = await fetch(`${t.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: user.email, password: user.password, client_id: web.clientId, client_secret: web.clientSecret! }),
      });
      expect(post.status).toBe(200);
      const pub = await tokenRequest(t, spa, { grant_type: 'password', username: user.email, password: user.password });
      expect(pub.status).toBe(200);
      expect(pub.body.scope).toBe('read');
    });

    it('answers a wrong password, an unknown user and a locked user alike, with invalid_grant', async () => {
      const locked = await createUser(t.app);
      await db.query(`UPDATE users SET status = 'locked' WHERE id = $1`, [locked.id]);
      const answers = await Promise.all([
        tokenRequest(t, web, { grant_type: 'password', username: user.email, password: 'not the right passphrase' }),
        tokenRequest(t, web, { grant_type: 'password', username: 'nobody-at-all@example.com', password: user.password }),
        tokenRequest(t, web, { grant_type: 'password', username: locked.email, password: locked.password }),
      ]);
      for (const a of answers) {
        expect(a.status).toBe(400);
        expect(a.body).toEqual(answers[0].body);
      }
      expect(answers[0].body.error).toBe('invalid_grant');
    });
  });

  describe('client_credentials grant', () => {
    it('issues an access token for the client itself, with no refresh token and no session', async () => {
      const before = await count('sessions');
      const r = await tokenRequest(t, machine, { grant_type: 'client_credentials' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope: 'reports' });
      expect(await count('sessions')).toBe(before);
      const claims = JSON.parse(Buffer.from(r.body.access_token.split('.')[1], 'base64url').toString());
      expect(claims).toMatchObject({ sub: machine.clientId, client_id: machine.clientId, scope: 'reports', roles: [] });
      expect(claims.sid).toBeUndefined();
    });

    it('is not for a public client', async () => {
      const r = await tokenRequest(t, spa, { grant_type: 'client_credentials' });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('unauthorized_client');
    });
  });

  describe('RFC 6749 section 5.2 errors, each changing nothing', () => {
    let sessionsBefore: number;
    let tokensBefore: number;
    beforeEach(async () => {
      sessionsBefore = await count('sessions');
      tokensBefore = await count('refresh_tokens');
    });
    afterEach(async () => {
      expect(await count('sessions')).toBe(sessionsBefore);
      expect(await count('refresh_tokens')).toBe(tokensBefore);
    });

    const raw = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${t.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }).then(async (r) => ({ status: r.status, headers: r.headers, body: (await r.json()) as any }));

    it.each([
      ['a missing grant_type', { username: 'x', password: 'y' }],
      ['a missing username', { grant_type: 'password', password: 'y' }],
      ['a missing password', { grant_type: 'password', username: 'someone@example.com' }],
      ['a missing refresh_token', { grant_type: 'refresh_token' }],
    ])('invalid_request for %s', async (_, params) => {
      const r = await tokenRequest(t, web, params as Record<string, string>);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_request');
      expect(typeof r.body.error_description).toBe('string');
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(r.headers.get('cache-control')).toBe('no-store');
    });

    it('invalid_request for a repeated parameter', async () => {
      const r = await raw(`grant_type=password&username=${encodeURIComponent(user.email)}&password=${encodeURIComponent(user.password)}&password=other&client_id=${spa.clientId}`);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/repeated/) });
    });

    it('invalid_request for a JSON body, a text body, and a body over the limit', async () => {
      const json = await fetch(`${t.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'password', username: user.email, password: user.password, client_id: spa.clientId }) });
      expect(json.status).toBe(400);
      expect(((await json.json()) as any).error).toBe('invalid_request');
      const text = await fetch(`${t.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'grant_type=password' });
      expect(text.status).toBe(400);
      expect(((await text.json()) as any).error).toBe('invalid_request');
      const big = await raw(`grant_type=password&client_id=${spa.clientId}&username=${'a'.repeat(70 * 1024)}&password=x`);
      expect(big.status).toBe(400);
      expect(big.body.error).toBe('invalid_request');
    });

    it('invalid_request for two client authentication methods at once', async () => {
      const r = await raw(new URLSearchParams({ grant_type: 'client_credentials', client_secret: machine.clientSecret! }).toString(), {
        authorization: `Basic ${Buffer.from(`${machine.clientId}:${machine.clientSecret}`).toString('base64')}`,
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_request');
    });

    it.each([
      ['an unknown client', () => ({ clientId: 'no-such-client', clientSecret: 'whatever' })],
      ['a wrong secret', () => ({ clientId: web.clientId, clientSecret: 'wrong-secret' })],
      ['a confidential client without its secret', () => ({ clientId: web.clientId })],
      ['a public client presenting a secret', () => ({ clientId: spa.clientId, clientSecret: 'made-up' })],
    ])('invalid_client (401 with WWW-Authenticate) for %s', async (_, who) => {
      const r = await tokenRequest(t, who() as TestClient, { grant_type: 'password', username: user.email, password: user.password });
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_client');
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="latchkey"/);
    });

    it('invalid_client for no client authentication at all', async () => {
      const r = await tokenRequest(t, null, { grant_type: 'password', username: user.email, password: user.password });
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_client');
    });

    it('invalid_grant for an unknown refresh token', async () => {
      const r = await tokenRequest(t, web, { grant_type: 'refresh_token', refresh_token: 'not-a-real-refresh-token' });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_grant');
    });

    it('unauthorized_client for a grant the client may not use', async () => {
      const r = await tokenRequest(t, machine, { grant_type: 'password', username: user.email, password: user.password });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('unauthorized_client');
    });

    it('unsupported_grant_type for an unknown grant', async () => {
      const r = await tokenRequest(t, web, { grant_type: 'urn:example:magic' });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('unsupported_grant_type');
    });

    it('invalid_scope for a scope the client does not have', async () => {
      const r = await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password, scope: 'read admin' });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_scope');
    });
  });
});

describe('brute-force throttling of the password grant', () => {
  let t: TestApp;
  let web: TestClient;
  let user: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    t = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '6', LOGIN_THROTTLE_WINDOW: '60' } });
    web = await createClient(t.app, { grants: ['password'] });
    user = await createUser(t.app);
  });
  afterAll(() => t?.close());

  it('answers 429 with Retry-After once an account has too many failures, even for the right password', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: `wrong guess ${i} here` })).status).toBe(400);
    }
    const blocked = await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('throttles a client IP that tries many accounts', async () => {
    const others = await Promise.all([1, 2, 3].map(() => createUser(t.app)));
    // 3 failures so far from this IP; 3 more reach the limit of 6.
    for (const o of others) expect((await tokenRequest(t, web, { grant_type: 'password', username: o.email, password: 'wrong guess here!' })).status).toBe(400);
    const fresh = await createUser(t.app);
    const r = await tokenRequest(t, web, { grant_type: 'password', username: fresh.email, password: fresh.password });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeTruthy();
  });
});

describe('a login storm past the hashing queue', () => {
  let t: TestApp;
  let web: TestClient;
  let user: Awaited<ReturnType<typeof createUser>>;
  let db: DataSource;

  beforeAll(async () => {
    // The throttle counts sign-ins in flight; this burst is about the hashing queue, so it stays under it.
    t = await startTestApp({ env: { PASSWORD_HASH_QUEUE_LIMIT: '1', LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000' } });
    db = t.app.get(DataSource);
    web = await createClient(t.app, { grants: ['password'] });
    user = await createUser(t.app);
  });
  afterAll(() => t?.close());

  it('sheds what cannot wait with 503 temporarily_unavailable and Retry-After, creating nothing, never a wrong-password answer', async () => {
    const sessions = async () => Number((await db.query('SELECT count(*) AS n FROM sessions WHERE user_id = $1', [user.id]))[0].n);
    const before = await sessions();
    // One hashing thread per core runs and one sign-in may wait: a burst well past that must be shed.
    const answers = await Promise.all(Array.from({ length: Math.max(24, availableParallelism() + 12) }, () => tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password })));
    const shed = answers.filter((a) => a.status === 503);
    const ok = answers.filter((a) => a.status === 200);
    expect(shed.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThan(0);
    expect(ok.length + shed.length).toBe(answers.length);
    for (const a of shed) {
      expect(a.body.error).toBe('temporarily_unavailable');
      expect(a.headers.get('retry-after')).toBe('1');
    }
    expect(await sessions()).toBe(before + ok.length);
    // Shed sign-ins were not counted as failures: the account is not throttled, and signs in now.
    expect((await tokenRequest(t, web, { grant_type: 'password', username: user.email, password: user.password })).status).toBe(200);
  });
});
