import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AppConfig } from '../config/config.schema.js';
import { Database, type Tx } from '../infra/database/database.js';
import { Metrics } from '../infra/metrics/metrics.js';
import { RevocationRetention } from '../revocation/revocation-retention.js';
import { SessionRetentionRepository } from '../tokens/sessions/session-retention.repository.js';
import { WebhookRetention } from '../webhooks/webhook-retention.js';

/** What one round deleted, per table; `skipped` when another instance was pruning. */
export interface RetentionCounts {
  refreshTokens: number;
  sessions: number;
  revocations: number;
  webhookEvents: number;
  authorizationCodes: number;
  skipped: boolean;
}

interface Batch {
  picked: number;
  deleted: number;
  last: string | null;
}

type Table = 'refreshTokens' | 'sessions' | 'revocations' | 'webhookEvents' | 'authorizationCodes';

/** The `table` label of the pruned-rows counter. */
const TABLE_LABEL: Record<Table, string> = { refreshTokens: 'refresh_tokens', sessions: 'sessions', revocations: 'revocations', webhookEvents: 'webhook_events', authorizationCodes: 'authorization_codes' };

/**
 * The key of the transaction-level advisory lock every batch takes first: at most one instance
 * prunes at any moment, and one that finds it held ends its round (the holder carries on).
 */
export const RETENTION_LOCK_KEY = '7731052871553410389';

/** The first round runs within this after start-up (jittered), so that instances started together spread. */
const FIRST_RUN_MAX_MS = 5 * 60_000;

/**
 * Retention: deletes what can no longer be presented, checked or shown, on a schedule, in short
 * batches (one transaction each, under the advisory lock), counting what it deleted.
 * - refresh tokens whose session ended (revoked, expired or idle) or that expired, and
 * - sessions that ended,
 *   more than ACCESS_TOKEN_TTL + RETENTION_GRACE ago (an access token of the session may live that
 *   long after it ended, and the admin API still shows the session meanwhile); a used refresh
 *   token of a live session is kept, so that its reuse is still recognised;
 * - revocation records whose honour_until passed more than RETENTION_GRACE ago (neither the
 *   denylist rebuild nor the catch-up applies them any more);
 * - webhook events older than RETENTION_GRACE none of whose deliveries is on its way, with their
 *   deliveries and attempts (a failed delivery is kept that long for a redelivery);
 * - authorization codes that expired more than ACCESS_TOKEN_TTL + RETENTION_GRACE ago.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionCounts>;
  private stopped = false;
  private readonly pruned?: Counter<'table'>;
  private readonly rounds?: Counter<'result'>;

  constructor(
    private readonly db: Database,
    private readonly sessions: SessionRetentionRepository,
    private readonly revocations: RevocationRetention,
    private readonly webhooks: WebhookRetention,
    private readonly config: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    if (!metrics) return;
    const registers = [metrics.registry];
    this.pruned = new Counter({ name: 'latchkey_retention_pruned_rows_total', help: 'Rows the retention job deleted, by table.', labelNames: ['table'], registers });
    this.rounds = new Counter({
      name: 'latchkey_retention_rounds_total',
      help: 'Retention rounds by result: done, skipped (another instance held the lock), failed.',
      labelNames: ['result'],
      registers,
    });
    for (const table of Object.values(TABLE_LABEL)) this.pruned.inc({ table }, 0);
    for (const result of ['done', 'skipped', 'failed']) this.rounds.inc({ result }, 0);
  }

  onApplicationBootstrap(): void {
    if (this.config.retentionInterval === 0) {
      this.logger.log('retention is off (RETENTION_INTERVAL=0)');
      return;
    }
    const first = Math.min(this.config.retentionInterval * 1000, FIRST_RUN_MAX_MS);
    this.schedule(first * (0.1 + 0.9 * Math.random()));
  }

  /** Stops the schedule and waits for a round in flight (which ends after its current batch). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One round over the three tables. Concurrent calls in this instance share one round. */
  run(): Promise<RetentionCounts> {
    this.running ??= this.round()
      .catch((err: unknown) => {
        this.rounds?.inc({ result: 'failed' });
        throw err;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.run()
        .catch((err: Error) => this.logger.warn(`retention round failed, next one as scheduled: ${err.message}`))
        .finally(() => this.schedule(this.config.retentionInterval * 1000 * (0.9 + 0.2 * Math.random())));
    }, delayMs);
    this.timer.unref();
  }

  private async round(): Promise<RetentionCounts> {
    const started = Date.now();
    const { accessTokenTtl, retentionGrace: grace, retentionBatchSize: limit } = this.config;
    const counts: RetentionCounts = { refreshTokens: 0, sessions: 0, revocations: 0, webhookEvents: 0, authorizationCodes: 0, skipped: false };
    // Refresh tokens before sessions: a session is deleted only once it has no token left.
    const passes: [Table, (tx: Tx, after: string | null) => Promise<Batch>][] = [
      ['refreshTokens', (tx, after) => this.sessions.pruneRefreshTokens(tx, accessTokenTtl + grace, after, limit)],
      ['sessions', (tx, after) => this.sessions.pruneSessions(tx, accessTokenTtl + grace, after, limit)],
      ['revocations', (tx, after) => this.revocations.pruneExpired(tx, grace, after, limit)],
      ['webhookEvents', (tx, after) => this.webhooks.pruneEvents(tx, grace, after, limit)],
      ['authorizationCodes', (tx, after) => this.sessions.pruneAuthorizationCodes(tx, accessTokenTtl + grace, after, limit)],
    ];
    for (const [table, prune] of passes) {
      let after: string | null = null;
      for (;;) {
        if (this.stopped) return this.report(counts, started, 'stopped by shutdown');
        const batch = await this.db.transaction(async (tx) => {
          const [{ locked }] = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock($1::bigint) AS locked`, [RETENTION_LOCK_KEY]);
          return locked ? prune(tx, after) : null;
        });
        if (!batch) {
          counts.skipped = true;
          return this.report(counts, started, 'another instance is pruning');
        }
        counts[table] += batch.deleted;
        if (batch.deleted) this.pruned?.inc({ table: TABLE_LABEL[table] }, batch.deleted);
        if (batch.picked < limit || batch.last === null) break;
        after = batch.last;
      }
    }
    return this.report(counts, started);
  }

  private report(counts: RetentionCounts, started: number, why?: string): RetentionCounts {
    this.rounds?.inc({ result: counts.skipped ? 'skipped' : 'done' });
    const line = `retention pruned ${counts.refreshTokens} refresh tokens, ${counts.sessions} sessions, ${counts.revocations} revocation records, ${counts.webhookEvents} webhook events, ${counts.authorizationCodes} authorization codes in ${Date.now() - started} ms`;
    this.logger.log(why ? `${line} (${why}: round ended early)` : line);
    return counts;
  }
}
