import { DataSource } from 'typeorm';
import { createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Every state change commits with its audit row or not at all. This test's own database refuses,
 * through a trigger, any audit row whose reason is REFUSED: the state change before it in the same
 * transaction must then leave no trace.
 */
const REFUSED = 'the database refuses this reason';

describe('a state change whose audit row the database refuses', () => {
  let t: TestApp;
  let db: DataSource;
  let client: TestClient;
  let adminToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    await db.query(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.reason = '${REFUSED}' THEN RAISE EXCEPTION 'audit row refused by the test'; END IF; RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
    client = await createClient(t.app);
    adminToken = (await login(t, client, await createUser(t.app, { roles: ['admin'] }))).access_token;
  });
  afterAll(() => t?.close());

  const post = (path: string, body: unknown, method = 'POST') =>
    fetch(`${t.url}/admin/api${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const activeKid = async () => (await db.query(`SELECT kid FROM signing_keys WHERE status = 'active'`))[0].kid as string;

  it('creates no user', async () => {
    const res = await post('/users', { reason: REFUSED, email: 'never-created@example.com', password: 'a long enough passphrase' });
    expect(res.status).toBe(500);
    expect(await db.query(`SELECT id FROM users WHERE email = 'never-created@example.com'`)).toEqual([]);
    // The same request with a reason the database takes creates the user and its audit row.
    const ok = await post('/users', { reason: 'fine', email: 'never-created@example.com', password: 'a long enough passphrase' });
    expect(ok.status).toBe(201);
    const { id } = (await ok.json()) as { id: string };
    expect(await db.query(`SELECT action FROM audit_log WHERE target_id = $1`, [id])).toEqual([{ action: 'user.created' }]);
  });

  it('rotates no signing key', async () => {
    const before = await activeKid();
    expect((await post('/keys/rotate', { reason: REFUSED })).status).toBe(500);
    expect(await activeKid()).toBe(before);
    expect(await db.query(`SELECT count(*)::int AS n FROM signing_keys WHERE status = 'retired' AND kid = $1`, [before])).toEqual([{ n: 0 }]);
  });

  it('leaves a compromised active key neither retired nor revoked, so its replacement is never half done', async () => {
    const kid = await activeKid();
    expect((await post(`/keys/${kid}/revoke`, { reason: REFUSED })).status).toBe(500);
    expect(await db.query(`SELECT status, retired_at, revoked_at FROM signing_keys WHERE kid = $1`, [kid])).toEqual([{ status: 'active', retired_at: null, revoked_at: null }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM signing_keys WHERE status = 'active'`)).toEqual([{ n: 1 }]);
    // With a reason the database takes: revoked and replaced in one go.
    const ok = await post(`/keys/${kid}/revoke`, { reason: 'compromised' });
    expect(ok.status).toBe(200);
    expect((await db.query(`SELECT status FROM signing_keys WHERE kid = $1`, [kid]))[0].status).toBe('revoked');
    expect(await activeKid()).not.toBe(kid);
  });

  it('locks no user and ends no session', async () => {
    // The key revocation above refused the old tokens: sign in again.
    adminToken = (await login(t, client, await createUser(t.app, { roles: ['admin'] }))).access_token;
    const user = await createUser(t.app);
    const tokens = await login(t, client, user);
    expect((await post(`/users/${user.id}/lock`, { reason: REFUSED })).status).toBe(500);
    expect((await db.query(`SELECT status, tokens_valid_after FROM users WHERE id = $1`, [user.id]))[0]).toEqual({ status: 'active', tokens_valid_after: null });
    const me = await fetch(`${t.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
  });
});
