import { DataSource } from 'typeorm';
import { authGet, createClient, createUser, login, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe('refresh tokens: rotation, reuse detection, races', () => {
  let t: TestApp;
  let web: TestClient;
  let other: TestClient;
  let user: Awaited<ReturnType<typeof createUser>>;
  let db: DataSource;

  const refresh = (client: TestClient, refreshToken: string) => tokenRequest(t, client, { grant_type: 'refresh_token', refresh_token: refreshToken });

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    web = await createClient(t.app, { grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    other = await createClient(t.app, { grants: ['password', 'refresh_token'], scopes: ['read', 'write'] });
    user = await createUser(t.app);
  });
  afterAll(() => t?.close());

  it('rotates the refresh token on every use and keeps the session', async () => {
    const first = await login(t, web, user);
    const second = await refresh(web, first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(second.body.access_token).not.toBe(first.access_token);
    const sid = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).sid;
    expect(sid(second.body.access_token)).toBe(sid(first.access_token));
    const third = await refresh(web, second.body.refresh_token);
    expect(third.status).toBe(200);
  });

  it('stores only the SHA-256 of refresh tokens', async () => {
    const tokens = await login(t, web, user);
    const rows = await db.query(`SELECT token_hash FROM refresh_tokens`);
    expect(rows.some((r: { token_hash: string }) => r.token_hash.includes(tokens.refresh_token))).toBe(false);
    const { createHash } = await import('node:crypto');
    expect(rows.map((r: { token_hash: string }) => r.token_hash)).toContain(createHash('sha256').update(tokens.refresh_token).digest('hex'));
  });

  it('narrows the scope on refresh, but never widens it', async () => {
    const tokens = await login(t, web, user, 'read');
    const wider = await refresh(web, tokens.refresh_token);
    expect(wider.body.scope).toBe('read');
    const widened = await tokenRequest(t, web, { grant_type: 'refresh_token', refresh_token: wider.body.refresh_token, scope: 'read write' });
    expect(widened.status).toBe(400);
    expect(widened.body.error).toBe('invalid_scope');
    // The refused request did not use the token up.
    expect((await refresh(web, wider.body.refresh_token)).status).toBe(200);
  });

  it('the stolen-token story: when a used refresh token comes back, attacker and victim are both refused', async () => {
    const victim = await login(t, web, user);
    // The attacker copies the refresh token; the victim refreshes first.
    const stolen = victim.refresh_token;
    const victimNext = await refresh(web, stolen);
    expect(victimNext.status).toBe(200);

    // The attacker replays the stolen (now used) token: refused, and the whole family is revoked.
    const attacker = await refresh(web, stolen);
    expect(attacker.status).toBe(400);
    expect(attacker.body.error).toBe('invalid_grant');

    // The victim's newer refresh token and every access token of the session are refused too.
    expect((await refresh(web, victimNext.body.refresh_token)).body.error).toBe('invalid_grant');
    expect((await authGet(t, '/userinfo', victimNext.body.access_token)).status).toBe(401);
    expect((await authGet(t, '/userinfo', victim.access_token)).status).toBe(401);

    const [audit] = await db.query(`SELECT action, target_type, actor_type FROM audit_log WHERE action = 'refresh_token.reuse_detected' ORDER BY id DESC LIMIT 1`);
    expect(audit).toEqual({ action: 'refresh_token.reuse_detected', target_type: 'session', actor_type: 'system' });

    // Another session of the same user is untouched.
    const elsewhere = await login(t, web, user);
    expect((await authGet(t, '/userinfo', elsewhere.access_token)).status).toBe(200);
  });

  it('of concurrent uses of one refresh token, exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const tokens = await login(t, web, user);
      const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(web, tokens.refresh_token)));
      const winners = answers.filter((a) => a.status === 200);
      expect(winners).toHaveLength(1);
      for (const loser of answers.filter((a) => a.status !== 200)) expect(loser.body.error).toBe('invalid_grant');
    }
  });

  it('refuses a refresh token presented by another client, as RFC 6749 section 6 requires, without using it up', async () => {
    const tokens = await login(t, web, user);
    const r = await refresh(other, tokens.refresh_token);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_grant');
    // The rightful client can still use it: the refused request changed nothing and raised no reuse alarm.
    const rightful = await refresh(web, tokens.refresh_token);
    expect(rightful.status).toBe(200);
    expect((await authGet(t, '/userinfo', rightful.body.access_token)).status).toBe(200);
  });

  it('refuses to refresh a locked user, or a session past its idle limit', async () => {
    const locked = await createUser(t.app);
    const a = await login(t, web, locked);
    await db.query(`UPDATE users SET status = 'locked' WHERE id = $1`, [locked.id]);
    expect((await refresh(web, a.refresh_token)).body.error).toBe('invalid_grant');

    const b = await login(t, web, user);
    const sid = JSON.parse(Buffer.from(b.access_token.split('.')[1], 'base64url').toString()).sid;
    await db.query(`UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE id = $1`, [sid]);
    const [before] = await db.query(`SELECT idle_expires_at, last_seen_at FROM sessions WHERE id = $1`, [sid]);
    expect((await refresh(web, b.refresh_token)).body.error).toBe('invalid_grant');
    // A refused refresh does not bring the idle session back.
    expect(await db.query(`SELECT idle_expires_at, last_seen_at FROM sessions WHERE id = $1`, [sid])).toEqual([before]);
    expect((await authGet(t, '/me/sessions', b.access_token)).body.sessions.map((x: { sid: string }) => x.sid)).not.toContain(sid);
  });
});
