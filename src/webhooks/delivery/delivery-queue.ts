import { createHash, randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import pg from 'pg';
import { type Db, type Job, PgBoss } from 'pg-boss';
import { AppConfig } from '../../config/config.schema.js';
import { DatabaseEndpoint, type Tx } from '../../infra/database/database.js';
import { connectionOptions } from '../../infra/database/data-source.js';
import { canPrepare, statementName } from '../../infra/database/prepared-statements.js';

/** pg-boss's schema (created by the webhooks migration) and the one queue of delivery attempts. */
export const JOB_SCHEMA = 'pgboss';
export const DELIVERY_QUEUE = 'webhook-attempt';
/**
 * How long past its timeout an attempt's job may stay active before it counts as abandoned: the
 * address lookup and the recording are bounded too (see DeliveryWorker), within this margin.
 */
const EXPIRY_MARGIN_SECONDS = 15;
const SUPERVISE_SECONDS = 5;
/** How often pg-boss runs an attempt's job again when its worker died or the handler threw. */
export const ATTEMPT_JOB_RETRIES = 10;

/** One attempt of one delivery. `attempt` is its number (1 = first); a manual redelivery is one attempt. */
export interface AttemptJob {
  deliveryId: string;
  attempt: number;
  manual?: boolean;
}

export interface AttemptJobInsert extends AttemptJob {
  subscriptionId: string;
  startAfter?: Date;
  /**
   * Behind the healthy ones: a retry, or an attempt for a subscription that is failing. A fetch
   * walks due jobs by priority, then age, and passes over those of a subscription at its limit:
   * kept behind, a stuck subscription's backlog is not walked again by every fetch.
   */
  behind?: boolean;
}

/** The priority of the attempts kept behind (the healthy ones have 0). */
export const BEHIND_PRIORITY = -1;

/**
 * The job id of an automatic attempt, derived from the delivery and the attempt's number:
 * scheduling the same retry twice (a retried handler that had scheduled it already) inserts nothing
 * the second time. A manual redelivery is staff asking again: always a job of its own.
 */
function attemptJobId(j: AttemptJob): string {
  if (j.manual) return randomUUID();
  const h = createHash('sha256').update(`${j.deliveryId}:${j.attempt}:a`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Due attempts are fetched this many at a time, or one: two statement texts, each prepared once. */
const FETCH_BATCH = 8;
/** How many attempts one fetch asks for, with `free` slots. */
export const fetchSize = (free: number) => (free >= FETCH_BATCH ? FETCH_BATCH : 1);

/** pg-boss statements inside one of the service's transactions. */
const executor = (tx: Tx): Db => ({ executeSql: async (text, values) => ({ rows: await tx.query(text, values) }) });

/**
 * The worker's own connections: pg-boss's statements (fetches, failures, its supervisor) and the
 * attempts' records. A hanging receiver's attempts time out together, and each failure is a
 * transaction: enough connections that the healthy subscriptions' fetches and records never wait
 * for them.
 */
const QUEUE_POOL_SIZE = 10;

/**
 * Statements that only move an attempt along commit asynchronously: should the server lose the
 * last of them in a crash, the job comes back and the attempt is made again (at least once). The
 * events, deliveries and first jobs are written, durably, in the revocation's transaction.
 */
const ASYNC_COMMIT = '-c synchronous_commit=off';

/**
 * The delivery attempts as pg-boss jobs: enqueued inside the revocation's transaction (through the
 * `Tx` it runs in), so they commit with it or not at all; fetched and settled on a small pool. Each job is
 * grouped by subscription, so that a fetch never hands out more than the per-subscription limit.
 * pg-boss's supervisor (in each process that runs a worker) puts back a job whose worker died.
 */
@Injectable()
export class DeliveryQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly boss: PgBoss;
  private started?: Promise<void>;

  constructor(
    endpoint: DatabaseEndpoint,
    private readonly config: AppConfig,
  ) {
    const c = connectionOptions(endpoint.url);
    this.attempts = new pg.Pool({
      ...('url' in c ? { connectionString: c.url } : { host: c.host, port: c.port, user: c.username, password: c.password, database: c.database }),
      max: QUEUE_POOL_SIZE,
      options: ASYNC_COMMIT,
      application_name: 'latchkey-webhooks',
      connectionTimeoutMillis: 10_000,
    });
    this.boss = new PgBoss({
      // pg-boss runs on the same connections, its parameterized statements prepared once each (a
      // fetch is parsed and planned anew otherwise, which costs more than running it).
      db: { executeSql: (text, values) => this.attempts.query(this.prepare && values?.length ? { name: statementName(text), text, values } : { text, values }) },
      schema: JOB_SCHEMA,
      // Its schema comes with Latchkey's migrations (see migrations/), never from a start-up.
      migrate: false,
      supervise: config.webhookWorker,
      schedule: false,
      registerInstance: false,
      // Expiry is checked in the monitor pass: both every few seconds, so an abandoned attempt is
      // made again within about WEBHOOK_TIMEOUT_MS + 10 s.
      superviseIntervalSeconds: SUPERVISE_SECONDS,
      monitorIntervalSeconds: SUPERVISE_SECONDS,
    });
    this.boss.on('error', (err: Error) => this.logger.warn(`job queue: ${err.message}`));
    this.attempts.on('error', (err: Error) => this.logger.warn(`attempt log connection: ${err.message}`));
  }

  private readonly attempts: pg.Pool;
  private prepare = false;

  /**
   * Runs `work` on the attempts' own connections (asynchronous commit): in one transaction when
   * `transaction`, else its one statement on its own. Every syscall counts here (each statement
   * costs a round trip), so an attempt that succeeded is recorded in a single statement.
   */
  async recording<T>(work: (tx: Tx) => Promise<T>, transaction: boolean): Promise<T> {
    const client = await this.attempts.connect();
    // The statements here are a handful of fixed texts: each is prepared once per connection
    // (named), which spares its parse and planning on every attempt.
    const tx: Tx = { query: async (text, values) => (await client.query(this.prepare && values?.length ? { name: statementName(text), text, values } : { text, values })).rows };
    try {
      if (!transaction) return await work(tx);
      await client.query('BEGIN');
      try {
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  onModuleInit(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  private async start(): Promise<void> {
    const { rows } = await this.attempts.query<{ version: string }>('SELECT version()');
    this.prepare = canPrepare(rows[0].version);
    await this.boss.start();
    // A job comes back to the queue only when its worker died (the handler itself records every
    // outcome): then the attempt is made again, a few times, before pg-boss gives up on it.
    // An attempt lasts at most WEBHOOK_TIMEOUT_MS and a few statements: a job active for longer
    // belongs to a dead worker, and the supervisor (every few seconds) hands it out again.
    const options = { retryLimit: ATTEMPT_JOB_RETRIES, retryDelay: 1, retryBackoff: true, expireInSeconds: Math.ceil(this.config.webhookTimeoutMs / 1000) + EXPIRY_MARGIN_SECONDS };
    await this.boss.createQueue(DELIVERY_QUEUE, options);
    await this.boss.updateQueue(DELIVERY_QUEUE, options);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.started?.catch(() => undefined);
    await this.boss.stop({ graceful: false, close: false }).catch(() => undefined);
    await this.attempts.end().catch(() => undefined);
  }

  /** Enqueues attempts in the caller's transaction; a manual one that could not be queued fails the call. */
  async enqueue(tx: Tx, jobs: AttemptJobInsert[]): Promise<void> {
    if (!jobs.length) return;
    await this.onModuleInit();
    const ids = await this.boss.insert(
      DELIVERY_QUEUE,
      jobs.map((j) => ({
        id: attemptJobId(j),
        data: { deliveryId: j.deliveryId, attempt: j.attempt, ...(j.manual ? { manual: true } : {}) } satisfies AttemptJob,
        group: { id: j.subscriptionId },
        ...(j.startAfter ? { startAfter: j.startAfter } : {}),
        ...(j.behind ? { priority: BEHIND_PRIORITY } : {}),
      })),
      { db: executor(tx), returnId: true },
    );
    if (jobs.some((j) => j.manual) && (ids?.length ?? 0) < jobs.length) throw new Error('a manual delivery attempt could not be queued');
  }

  /**
   * Up to `count` attempts due now, at most `perSubscription` in flight per subscription across
   * every worker; `healthyOnly` leaves out the ones kept behind (retries, failing subscriptions):
   * pg-boss then stops its walk at the first of them instead of passing over a stuck backlog.
   */
  fetch(count: number, perSubscription: number, healthyOnly: boolean): Promise<Job<AttemptJob>[]> {
    return this.boss.fetch<AttemptJob>(DELIVERY_QUEUE, { batchSize: count, groupConcurrency: perSubscription, ...(healthyOnly ? { minPriority: 0 } : {}) });
  }

  async complete(job: Job<AttemptJob>): Promise<void> {
    await this.boss.complete(DELIVERY_QUEUE, { id: job.id, retryCount: job.retryCount });
  }

  /**
   * A deleted subscription's attempts still waiting (a stuck receiver's backlog can be thousands):
   * gone with it, rather than each fetched later only to find its delivery gone. One in flight
   * finishes and records nothing.
   */
  async dropWaiting(tx: Tx, subscriptionId: string): Promise<void> {
    await tx.query(`DELETE FROM ${JOB_SCHEMA}.job WHERE name = $1 AND group_id = $2 AND state IN ('created', 'retry')`, [DELIVERY_QUEUE, subscriptionId]);
  }

  async fail(job: Job<AttemptJob>, err: Error): Promise<void> {
    await this.boss.fail(DELIVERY_QUEUE, { id: job.id, retryCount: job.retryCount }, { message: err.message });
  }
}
