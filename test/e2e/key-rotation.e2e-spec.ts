import { randomBytes } from 'node:crypto';
import { authGet, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { KeyService } from '../../src/tokens/keys/key.service.js';

const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid as string;

describe('signing-key rotation across two instances', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let web: TestClient;
  let user: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = { KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    a = await startTestApp({ database: db, env: shared });
    // Instance B has A's issuer, as two instances behind one load balancer would.
    b = await startTestApp({ database: db, env: { ...shared, ISSUER: a.config.issuer } });
    web = await createClient(a.app, { grants: ['password', 'refresh_token'] });
    user = await createUser(a.app);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('both instances share one active key', async () => {
    const jwksA = (await (await fetch(`${a.url}/.well-known/jwks.json`)).json()) as any;
    const jwksB = (await (await fetch(`${b.url}/.well-known/jwks.json`)).json()) as any;
    expect(jwksA.keys).toHaveLength(1);
    expect(jwksB).toEqual(jwksA);
  });

  it('keeps verifying a token signed before the rotation, signs new ones with the new key, and B follows without a restart', async () => {
    const before = await login(t(a), web, user);
    const oldKid = kidOf(before.access_token);

    const newKid = await a.app.get(KeyService).rotate();
    expect(newKid).not.toBe(oldKid);

    const after = await login(t(a), web, user);
    expect(kidOf(after.access_token)).toBe(newKid);

    // B has not polled yet, but a token with an unknown kid makes it look at once.
    expect((await authGet(t(b), '/userinfo', after.access_token)).status).toBe(200);
    // The pre-rotation token still verifies on both instances until it expires.
    expect((await authGet(t(a), '/userinfo', before.access_token)).status).toBe(200);
    expect((await authGet(t(b), '/userinfo', before.access_token)).status).toBe(200);

    const jwks = (await (await fetch(`${b.url}/.well-known/jwks.json`)).json()) as any;
    expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(k.d).toBeUndefined();
    }
  });

  const t = (x: TestApp) => x;
});
