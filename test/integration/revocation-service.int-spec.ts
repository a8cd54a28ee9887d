import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AuditModule } from '../../src/audit/audit.module.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { Database } from '../../src/infra/database/database.js';
import { DatabaseModule } from '../../src/infra/database/database.module.js';
import { RedisModule } from '../../src/infra/redis/redis.module.js';
import { jest } from '@jest/globals';
import { type DenylistEntry, DenylistStore, type TokenRef } from '../../src/revocation/denylist.store.js';
import { DenylistSync } from '../../src/revocation/denylist-sync.service.js';
import { MemoryDenylistStore } from '../../src/revocation/memory-denylist.store.js';
import { RevocationChecker } from '../../src/revocation/revocation-checker.js';
import { RevocationNotPropagated, RevocationStateUnavailable } from '../../src/revocation/revocation.errors.js';
import { RevocationModule } from '../../src/revocation/revocation.module.js';
import { RevocationService } from '../../src/revocation/revocation.service.js';
import { ClientsService } from '../../src/tokens/clients/clients.service.js';
import { KeyService } from '../../src/tokens/keys/key.service.js';
import { SessionRepository } from '../../src/tokens/sessions/session.repository.js';
import { UsersService } from '../../src/users/users.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { email, PASSWORD } from '../support/fixtures.js';
import { testConfig } from '../support/test-app.js';

/**
 * RevocationService on a real database (PostgreSQL in CI, PGlite otherwise) with a denylist that
 * fails on demand: what commits, what rolls back, what the instance finishes, and that a failed
 * denylist write never lets a revoked token through.
 */
class FlakyDenylist extends MemoryDenylistStore {
  failAdds = 0;
  added: DenylistEntry[] = [];

  async add(entries: DenylistEntry[]): Promise<void> {
    if (this.failAdds > 0) {
      this.failAdds--;
      throw new RevocationStateUnavailable('denylist write refused by the test');
    }
    this.added.push(...entries);
    await super.add(entries);
  }
}

const ctx = { actorType: 'admin' as const, actorId: 'test-staff', reason: 'medium test', requestId: 'req-medium' };

describe('RevocationService on a real database', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let revocation: RevocationService;
  let store: FlakyDenylist;
  let sql: Database;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new FlakyDenylist();
    // In-process store: this suite is about the transaction and the door, not about Redis.
    const config = testConfig(db.url, { REDIS_URL: '' });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(db.url), RedisModule, AuditModule, RevocationModule],
    })
      .overrideProvider(DenylistStore)
      .useValue(store)
      .compile();
    app = await moduleRef.init();
    // No background poll: its denylist writes would race with the writes this suite makes fail.
    // Catching up on demand (what the checker does when behind) still runs.
    app.get(DenylistSync).onApplicationShutdown();
    revocation = app.get(RevocationService);
    sql = app.get(Database);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  beforeEach(() => {
    store.failAdds = 0;
    store.added = [];
  });

  const users = () => app.get(UsersService);
  const newUser = () => users().createUser({ email: email('medium'), password: PASSWORD });
  const count = async (table: 'audit_log' | 'revocations', where = 'true', params: unknown[] = []) =>
    Number((await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE ${where}`, params))[0].n);
  const tokenOf = (userId: string, sid?: string): TokenRef => ({ jti: `jti-${Math.random()}`, sid, sub: userId, clientId: 'some-client', kid: 'some-kid', iatMs: Date.now() - 1000 });

  async function newSession(userId: string): Promise<string> {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const created = await app
      .get(SessionRepository)
      .create({ userId, clientId: 'some-client', scope: 'read', ip: null, userAgent: null, expiresAt, idleExpiresAt: expiresAt }, `hash-${Math.random()}`, expiresAt);
    return created!.session.id;
  }

  it('locks a user in one transaction: status, cutoff, sessions, records and one audit row, then the denylist', async () => {
    const user = await newUser();
    const sid = await newSession(user.id);
    const plan = await revocation.lockUser(user.id, ctx);
    expect(plan?.records.map((r) => r.kind).sort()).toEqual(['sid', 'user']);
    expect((await users().findById(user.id))?.status).toBe('locked');
    expect((await app.get(SessionRepository).find(sid))?.revokedAt).not.toBeNull();
    expect(await count('revocations', `subject IN ($1, $2)`, [user.id, sid])).toBe(2);
    const audit = await sql.query<{ action: string; actor_id: string; reason: string; request_id: string }>(`SELECT action, actor_id, reason, request_id FROM audit_log WHERE target_id = $1`, [user.id]);
    expect(audit).toEqual([{ action: 'user.locked', actor_id: 'test-staff', reason: 'medium test', request_id: 'req-medium' }]);
    expect(await app.get(RevocationChecker).check(tokenOf(user.id, sid))).toBe('sid');
    expect(await app.get(RevocationChecker).check({ ...tokenOf(user.id), sid: undefined })).toBe('user');
  });

  it('rolls the whole revocation back when its audit row cannot be written: nothing changes, nothing is denylisted', async () => {
    const user = await newUser();
    const sid = await newSession(user.id);
    // PostgreSQL refuses a NUL in text: the audit INSERT, the last statement of the transaction, fails.
    await expect(revocation.lockUser(user.id, { ...ctx, reason: 'bad\u0000reason' })).rejects.toThrow();
    expect((await users().findById(user.id))?.status).toBe('active');
    expect((await users().findById(user.id))?.tokensValidAfter).toBeNull();
    expect((await app.get(SessionRepository).find(sid))?.revokedAt).toBeNull();
    expect(await count('revocations', `subject IN ($1, $2)`, [user.id, sid])).toBe(0);
    expect(await count('audit_log', `target_id = $1`, [user.id])).toBe(0);
    expect(store.added).toEqual([]);
    expect(await app.get(RevocationChecker).check(tokenOf(user.id, sid))).toBeNull();
  });

  it('answers REVOCATION_NOT_PROPAGATED when the denylist write fails after the commit, and the instance refuses until it has caught up', async () => {
    const user = await newUser();
    store.failAdds = 1;
    await expect(revocation.revokeUserSessions(user.id, ctx)).rejects.toBeInstanceOf(RevocationNotPropagated);
    // Committed all the same.
    expect((await users().findById(user.id))?.tokensValidAfter).not.toBeNull();
    expect(await count('audit_log', `target_id = $1 AND action = 'user.sessions_revoked'`, [user.id])).toBe(1);
    expect(app.get(DenylistSync).behind).toBe(true);
    // The check catches up from PostgreSQL before it answers: the token is refused, never accepted.
    expect(await app.get(RevocationChecker).check(tokenOf(user.id))).toBe('user');
    expect(app.get(DenylistSync).behind).toBe(false);
  });

  it('fails closed while it cannot catch up', async () => {
    const user = await newUser();
    store.failAdds = 2; // the revocation's write, then the catch-up's
    await expect(revocation.revokeUserSessions(user.id, ctx)).rejects.toBeInstanceOf(RevocationNotPropagated);
    await expect(app.get(RevocationChecker).check(tokenOf(user.id))).rejects.toBeInstanceOf(RevocationStateUnavailable);
    expect(await app.get(RevocationChecker).check(tokenOf(user.id))).toBe('user');
  });

  it('writes nothing for an unknown user, and says USER_NOT_FOUND', async () => {
    const before = await count('audit_log');
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const call of [() => revocation.lockUser(missing, ctx), () => revocation.unlockUser(missing, ctx), () => revocation.setRoles(missing, ['x'], ctx), () => revocation.revokeUserSessions(missing, ctx)]) {
      await expect(call()).rejects.toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    }
    await expect(revocation.revokeClient('no-such-client', ctx)).rejects.toMatchObject({ code: 'CLIENT_NOT_FOUND', status: 404 });
    await expect(revocation.revokeSigningKey('no-such-kid', ctx)).rejects.toMatchObject({ code: 'SIGNING_KEY_NOT_FOUND', status: 404 });
    expect(await count('audit_log')).toBe(before);
    expect(store.added).toEqual([]);
  });

  it('revokes the active signing key and activates its successor in one transaction, and this instance signs with the successor on return', async () => {
    const keys = app.get(KeyService);
    const kid = keys.signingKey().kid;
    await revocation.revokeSigningKey(kid, ctx);
    const successor = keys.signingKey().kid;
    expect(successor).not.toBe(kid);
    expect(keys.verificationKey(kid)).toBeUndefined();
    expect(keys.isRevoked(kid)).toBe(true);
    const audit = await sql.query<{ action: string; target_id: string }>(`SELECT action, target_id FROM audit_log WHERE target_id IN ($1, $2) ORDER BY id`, [kid, successor]);
    expect(audit).toEqual([
      { action: 'signing_key.rotated', target_id: successor },
      { action: 'signing_key.revoked', target_id: kid },
    ]);
    // Again: already revoked, so nothing new is written; the entry is asserted again.
    expect((await revocation.revokeSigningKey(kid, ctx))?.persist).toBe(false);
    expect(keys.signingKey().kid).toBe(successor);
    expect(await count('audit_log', `target_id = $1`, [kid])).toBe(1);
  });

  it('answers REVOCATION_NOT_PROPAGATED when this instance cannot reload its keys after revoking the active one, and a retry reloads them', async () => {
    const keys = app.get(KeyService);
    const kid = keys.signingKey().kid;
    // The key table cannot be read for a moment: the revocation commits, the reload fails.
    const refresh = jest.spyOn(keys, 'refresh').mockRejectedValueOnce(new Error('the key table cannot be read'));
    try {
      await expect(revocation.revokeSigningKey(kid, ctx)).rejects.toBeInstanceOf(RevocationNotPropagated);
      expect(store.added.map((e) => [e.kind, e.subject])).toEqual([['kid', kid]]);
      await revocation.revokeSigningKey(kid, ctx);
      expect(keys.signingKey().kid).not.toBe(kid);
      expect(keys.isRevoked(kid)).toBe(true);
    } finally {
      refresh.mockRestore();
    }
  });

  it('forgets a revoked client’s cached credentials on this instance before it returns', async () => {
    const clients = app.get(ClientsService);
    const { client, clientSecret } = await clients.create({ name: 'medium', type: 'confidential', grantTypes: ['client_credentials'] });
    const creds = { clientId: client.clientId, clientSecret, method: 'client_secret_basic' as const };
    await expect(clients.authenticate(creds)).resolves.toMatchObject({ clientId: client.clientId }); // now cached
    await revocation.revokeClient(client.clientId, ctx);
    await expect(clients.authenticate(creds)).rejects.toMatchObject({ code: 'INVALID_CLIENT' });
  });

  it('re-asserts a session revoked before without a second audit row', async () => {
    const user = await newUser();
    const sid = await newSession(user.id);
    await revocation.revokeSession(sid, ctx);
    store.added = [];
    const again = await revocation.revokeSession(sid, ctx);
    expect(again?.persist).toBe(false);
    expect(store.added.map((e) => [e.kind, e.subject])).toEqual([['sid', sid]]);
    expect(await count('audit_log', `target_id = $1`, [sid])).toBe(1);
  });
});
