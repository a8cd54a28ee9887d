import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import { AuditModule } from '../../src/audit/audit.module.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { loadConfig } from '../../src/config/config.schema.js';
import { Database } from '../../src/infra/database/database.js';
import { DatabaseModule } from '../../src/infra/database/database.module.js';
import { Metrics } from '../../src/infra/metrics/metrics.js';
import { MetricsModule } from '../../src/infra/metrics/metrics.module.js';
import { RedisModule } from '../../src/infra/redis/redis.module.js';
import { RETENTION_LOCK_KEY, type RetentionCounts, RetentionService } from '../../src/retention/retention.service.js';
import { RetentionModule } from '../../src/retention/retention.module.js';
import { RevocationModule } from '../../src/revocation/revocation.module.js';
import { createTestDatabase, onRealPostgres, type TestDatabase } from '../support/database.js';
import { email } from '../support/fixtures.js';
import { testConfig } from '../support/test-app.js';

/**
 * The retention job on a real database (PostgreSQL with DATABASE_URL, the embedded PGlite without):
 * two instances run it at once over rows of every kind, prunable and not, and each prunable row is
 * deleted exactly once while everything else stays. Defaults: ACCESS_TOKEN_TTL 15m, RETENTION_GRACE
 * 7d, so sessions and refresh tokens go 7d15m after they ended, revocation records 7d after
 * honour_until.
 */
const BATCH = 3;
/** The instances share one database, so one key-encryption key. */
const KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64');

async function instance(url: string, env: Record<string, string> = {}): Promise<INestApplicationContext> {
  const config = testConfig(url, { REDIS_URL: '', RETENTION_INTERVAL: 'off', RETENTION_BATCH_SIZE: String(BATCH), KEY_ENCRYPTION_KEY, ...env });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), MetricsModule, DatabaseModule.forRoot(url), RedisModule, AuditModule, RevocationModule, RetentionModule],
  }).compile();
  return moduleRef.init();
}

interface Seeded {
  prunable: { sessions: string[]; refreshTokens: string[]; revocations: string[]; webhookEvents: string[]; authorizationCodes: string[] };
  kept: { sessions: string[]; refreshTokens: string[]; revocations: string[]; webhookEvents: string[]; authorizationCodes: string[] };
  /** The used refresh token of a live session: reuse detection needs it. */
  usedTokenOfLiveSession: string;
}

/** Rows of every kind, straight in SQL; times are relative to the database's now(). */
async function seed(sql: Database, copies: number): Promise<Seeded> {
  const [user] = await sql.query<{ id: string }>(`INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id`, [email('retention')]);
  const s: Seeded = {
    prunable: { sessions: [], refreshTokens: [], revocations: [], webhookEvents: [], authorizationCodes: [] },
    kept: { sessions: [], refreshTokens: [], revocations: [], webhookEvents: [], authorizationCodes: [] },
    usedTokenOfLiveSession: '',
  };
  const [sub] = await sql.query<{ id: string }>(`INSERT INTO webhook_subscriptions (url, secret_enc) VALUES ('https://hooks.example.com/x', 'sealed') RETURNING id`);
  let sequence = 0;
  /** A webhook event made `age` ago, with a delivery in each of `statuses`. */
  const event = async (age: string, statuses: string[]) => {
    const [row] = await sql.query<{ id: string }>(
      `INSERT INTO webhook_events (type, subject, sequence, body, created_at) VALUES ('user.locked', $1, $2, '{}', now() - $3::interval) RETURNING id::text`,
      [`user:${user.id}`, ++sequence, age],
    );
    for (const status of statuses) await sql.query(`INSERT INTO webhook_deliveries (event_id, subscription_id, status) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [row.id, sub.id, status]);
    return row.id;
  };
  const session = async (expires: string, idle: string, revoked: string | null) => {
    const [row] = await sql.query<{ id: string }>(
      `INSERT INTO sessions (user_id, client_id, created_at, expires_at, idle_expires_at, revoked_at)
       VALUES ($1, 'retention-client', now() - interval '40 days', now() + $2::interval, now() + $3::interval, now() + $4::interval) RETURNING id`,
      [user.id, expires, idle, revoked],
    );
    return row.id;
  };
  const token = async (sid: string, expires: string, used: boolean) => {
    const [row] = await sql.query<{ id: string }>(
      `INSERT INTO refresh_tokens (session_id, token_hash, expires_at, used_at) VALUES ($1, $2, now() + $3::interval, CASE WHEN $4 THEN now() - interval '1 day' END) RETURNING id`,
      [sid, `hash-${Math.random()}`, expires, used],
    );
    return row.id;
  };
  /** An authorization code that expired (or expires) `expires` from now, issued in the live session `sid`. */
  const code = async (sid: string, expires: string) => {
    const hash = `code-${Math.random()}`;
    await sql.query(
      `INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, scope, user_id, sign_in_session_id, auth_time, expires_at)
       VALUES ($1, 'retention-client', 'https://app.example.com/cb', 'openid', $2, $3, now(), now() + $4::interval)`,
      [hash, user.id, sid, expires],
    );
    return hash;
  };
  const revocation = async (honourUntil: string) => {
    const [row] = await sql.query<{ id: string }>(`INSERT INTO revocations (kind, subject, honour_until) VALUES ('sid', $1, now() + $2::interval) RETURNING id::text`, [`s-${Math.random()}`, honourUntil]);
    return row.id;
  };
  for (let i = 0; i < copies; i++) {
    // Ended long enough ago: revoked, past the absolute expiry, idle past the idle expiry. Each with a used and an unused token.
    for (const [expires, idle, revoked] of [
      ['20 days', '10 days', '-8 days'],
      ['-8 days', '-8 days', null],
      ['20 days', '-8 days', null],
    ] as const) {
      const sid = await session(expires, idle, revoked);
      s.prunable.sessions.push(sid);
      s.prunable.refreshTokens.push(await token(sid, expires, true), await token(sid, expires, false));
    }
    // A live session: its used token and its current one stay; a token of its that expired long ago goes.
    const live = await session('20 days', '10 days', null);
    s.kept.sessions.push(live);
    const used = await token(live, '20 days', true);
    s.kept.refreshTokens.push(used, await token(live, '20 days', false));
    s.usedTokenOfLiveSession ||= used;
    s.prunable.refreshTokens.push(await token(live, '-8 days', true));
    // Codes: long expired (past the grace plus ACCESS_TOKEN_TTL) go; recently expired or live stay.
    s.prunable.authorizationCodes.push(await code(live, '-8 days'));
    s.kept.authorizationCodes.push(await code(live, '-1 hour'), await code(live, '1 minute'));
    // Ended, but not long enough ago: a day ago, an hour ago, and 7 days 5 minutes ago (past the grace, not past grace + ACCESS_TOKEN_TTL).
    for (const [expires, idle, revoked] of [
      ['20 days', '10 days', '-1 day'],
      ['-1 hour', '-1 hour', null],
      ['20 days', '10 days', '-7 days -5 minutes'],
    ] as const) {
      const sid = await session(expires, idle, revoked);
      s.kept.sessions.push(sid);
      s.kept.refreshTokens.push(await token(sid, expires, true));
    }
    s.prunable.revocations.push(await revocation('-8 days'), await revocation('-30 days'));
    s.kept.revocations.push(await revocation('10 minutes'), await revocation('-1 day'), await revocation('-6 days'));
    // Webhook events: past the grace and settled (none, delivered, failed) go; recent ones, and old ones still on their way, stay.
    s.prunable.webhookEvents.push(await event('8 days', []), await event('8 days', ['delivered']), await event('30 days', ['failed']));
    s.kept.webhookEvents.push(await event('1 day', ['delivered']), await event('8 days', ['retrying']), await event('8 days', ['pending']));
  }
  return s;
}

const ids = async (sql: Database, table: 'sessions' | 'refresh_tokens' | 'revocations' | 'webhook_events' | 'authorization_codes') =>
  (await sql.query<{ id: string }>(`SELECT ${table === 'authorization_codes' ? 'code_hash' : 'id::text'} AS id FROM ${table}`)).map((r) => r.id).sort();
/** The pruned-rows counter of one instance's registry, for one table. */
async function prunedSeries(app: INestApplicationContext, table: string): Promise<number> {
  const text = await app.get(Metrics).scrape();
  const m = new RegExp(`^latchkey_retention_pruned_rows_total\\{table="${table}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
const sum = (runs: RetentionCounts[], key: 'sessions' | 'refreshTokens' | 'revocations' | 'webhookEvents' | 'authorizationCodes') => runs.reduce((n, r) => n + r[key], 0);

describe(`retention on ${onRealPostgres ? 'PostgreSQL' : 'the embedded PGlite'}`, () => {
  let db: TestDatabase;
  let a: INestApplicationContext;
  let b: INestApplicationContext;
  let sql: Database;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await instance(db.url);
    b = await instance(db.url);
    sql = a.get(Database);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  beforeEach(async () => {
    // Each test starts from empty tables (users cascade to sessions and refresh tokens).
    await sql.query(`DELETE FROM users`);
    await sql.query(`DELETE FROM revocations`);
    await sql.query(`DELETE FROM webhook_events`);
    await sql.query(`DELETE FROM webhook_subscriptions`);
  });

  it('run by two instances at once, prunes each prunable row once and nothing else', async () => {
    const seeded = await seed(sql, 4);
    const info = jest.spyOn(Logger.prototype, 'log');
    const runs = await Promise.all([a.get(RetentionService).run(), b.get(RetentionService).run(), a.get(RetentionService).run(), b.get(RetentionService).run()]);
    // Each instance shares one round between its concurrent calls.
    expect(runs[0]).toBe(runs[2]);
    expect(runs[1]).toBe(runs[3]);
    const rounds = [runs[0], runs[1]];
    expect(sum(rounds, 'refreshTokens')).toBe(seeded.prunable.refreshTokens.length);
    expect(sum(rounds, 'sessions')).toBe(seeded.prunable.sessions.length);
    expect(sum(rounds, 'revocations')).toBe(seeded.prunable.revocations.length);
    expect(sum(rounds, 'webhookEvents')).toBe(seeded.prunable.webhookEvents.length);
    expect(sum(rounds, 'authorizationCodes')).toBe(seeded.prunable.authorizationCodes.length);
    expect(await ids(sql, 'authorization_codes')).toEqual([...seeded.kept.authorizationCodes].sort());
    expect(await ids(sql, 'webhook_events')).toEqual([...seeded.kept.webhookEvents].sort());
    expect(await ids(sql, 'sessions')).toEqual([...seeded.kept.sessions].sort());
    expect(await ids(sql, 'refresh_tokens')).toEqual([...seeded.kept.refreshTokens].sort());
    expect(await ids(sql, 'revocations')).toEqual([...seeded.kept.revocations].sort());
    expect(await ids(sql, 'refresh_tokens')).toContain(seeded.usedTokenOfLiveSession);
    // The counts are in the log, at info level.
    const lines = info.mock.calls.map((c) => String(c[0])).filter((m) => m.startsWith('retention pruned'));
    info.mockRestore();
    expect(lines).toHaveLength(2);
    // And in the metrics: both instances' counters add up to the rows pruned.
    for (const [table, rows] of [
      ['refresh_tokens', seeded.prunable.refreshTokens],
      ['sessions', seeded.prunable.sessions],
      ['revocations', seeded.prunable.revocations],
      ['webhook_events', seeded.prunable.webhookEvents],
      ['authorization_codes', seeded.prunable.authorizationCodes],
    ] as const) {
      expect((await prunedSeries(a, table)) + (await prunedSeries(b, table))).toBe(rows.length);
    }
    // Nothing is left for the next round.
    expect(await a.get(RetentionService).run()).toEqual({ refreshTokens: 0, sessions: 0, revocations: 0, webhookEvents: 0, authorizationCodes: 0, skipped: false });
  });

  (onRealPostgres ? it : it.skip)('skips a row another transaction holds, and keeps its session until its last token is gone (PostgreSQL)', async () => {
    const seeded = await seed(sql, 1);
    const [held] = await sql.query<{ id: string; session_id: string }>(`SELECT id, session_id FROM refresh_tokens WHERE id = $1`, [seeded.prunable.refreshTokens[0]]);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // As a refresh in flight would: the token row is locked.
      await other.query('BEGIN');
      await other.query(`SELECT 1 FROM refresh_tokens WHERE id = $1 FOR UPDATE`, [held.id]);
      const first = await a.get(RetentionService).run();
      expect(first).toEqual({
        refreshTokens: seeded.prunable.refreshTokens.length - 1,
        sessions: seeded.prunable.sessions.length - 1,
        revocations: seeded.prunable.revocations.length,
        webhookEvents: seeded.prunable.webhookEvents.length,
        authorizationCodes: seeded.prunable.authorizationCodes.length,
        skipped: false,
      });
      expect(await ids(sql, 'refresh_tokens')).toEqual([...seeded.kept.refreshTokens, held.id].sort());
      expect(await ids(sql, 'sessions')).toEqual([...seeded.kept.sessions, held.session_id].sort());
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect(await a.get(RetentionService).run()).toEqual({ refreshTokens: 1, sessions: 1, revocations: 0, webhookEvents: 0, authorizationCodes: 0, skipped: false });
    expect(await ids(sql, 'sessions')).toEqual([...seeded.kept.sessions].sort());
  });

  (onRealPostgres ? it : it.skip)('skips the round while another instance holds the lock (PostgreSQL: PGlite has one session)', async () => {
    const seeded = await seed(sql, 1);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT pg_advisory_xact_lock($1::bigint)`, [RETENTION_LOCK_KEY]);
      expect(await a.get(RetentionService).run()).toEqual({ refreshTokens: 0, sessions: 0, revocations: 0, webhookEvents: 0, authorizationCodes: 0, skipped: true });
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    expect(await a.get(RetentionService).run()).toMatchObject({ revocations: seeded.prunable.revocations.length, skipped: false });
  });

  it('runs on its schedule, and stops cleanly on shutdown', async () => {
    const seeded = await seed(sql, 1);
    const scheduled = await instance(db.url, { RETENTION_INTERVAL: '1s' });
    try {
      const deadline = Date.now() + 15_000;
      while ((await ids(sql, 'revocations')).length > seeded.kept.revocations.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await ids(sql, 'revocations')).toEqual([...seeded.kept.revocations].sort());
    } finally {
      await scheduled.close();
    }
  });
});

describe('retention settings', () => {
  const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env });

  it('defaults to a round an hour, a grace of 7 days and batches of 1000', () => {
    expect(load({})).toMatchObject({ retentionInterval: 3600, retentionGrace: 7 * 86400, retentionBatchSize: 1000 });
  });

  it('takes durations, and 0 or off to turn it off', () => {
    expect(load({ RETENTION_INTERVAL: '15m', RETENTION_GRACE: '2d', RETENTION_BATCH_SIZE: '50' })).toMatchObject({ retentionInterval: 900, retentionGrace: 2 * 86400, retentionBatchSize: 50 });
    expect(load({ RETENTION_INTERVAL: 'off' }).retentionInterval).toBe(0);
    expect(load({ RETENTION_INTERVAL: '0' }).retentionInterval).toBe(0);
  });

  it('refuses what is not a duration or out of range', () => {
    expect(() => load({ RETENTION_INTERVAL: 'hourly' })).toThrow(/RETENTION_INTERVAL/);
    expect(() => load({ RETENTION_GRACE: '10s' })).toThrow(/RETENTION_GRACE/);
    expect(() => load({ RETENTION_BATCH_SIZE: '0' })).toThrow(/RETENTION_BATCH_SIZE/);
  });
});
