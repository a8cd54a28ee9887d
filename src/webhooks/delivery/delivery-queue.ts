import { createHash } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type Db, type Job, PgBoss } from 'pg-boss';
import { AppConfig } from '../../config/config.schema.js';
import { Database, type Tx } from '../../infra/database/database.js';

/** pg-boss's schema (created by the webhooks migration) and the one queue of delivery attempts. */
export const JOB_SCHEMA = 'pgboss';
export const DELIVERY_QUEUE = 'webhook-attempt';

/** One attempt of one delivery. `attempt` is its number (1 = first); a manual redelivery is one attempt. */
export interface AttemptJob {
  deliveryId: string;
  attempt: number;
  manual?: boolean;
}

export interface AttemptJobInsert extends AttemptJob {
  subscriptionId: string;
  startAfter?: Date;
}

/**
 * The job id of an attempt, derived from the delivery and the attempt's number: scheduling the same
 * attempt twice (a retried handler that had scheduled it already) inserts nothing the second time.
 */
function attemptJobId(j: AttemptJob): string {
  const h = createHash('sha256').update(`${j.deliveryId}:${j.attempt}:${j.manual ? 'm' : 'a'}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const executor = (run: Tx | Database): Db => ({ executeSql: async (text, values) => ({ rows: await run.query(text, values) }) });

/**
 * The delivery attempts as pg-boss jobs, on the service's own pool (through the `Database` port):
 * enqueued inside the revocation's transaction, so they commit with it or not at all. Each job is
 * grouped by subscription, so that a fetch never hands out more than the per-subscription limit.
 * pg-boss's supervisor (in each process that runs a worker) puts back a job whose worker died.
 */
@Injectable()
export class DeliveryQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly boss: PgBoss;
  private started?: Promise<void>;

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {
    this.boss = new PgBoss({
      db: executor(db),
      schema: JOB_SCHEMA,
      supervise: config.webhookWorker,
      schedule: false,
      registerInstance: false,
      superviseIntervalSeconds: 30,
    });
    this.boss.on('error', (err: Error) => this.logger.warn(`job queue: ${err.message}`));
  }

  onModuleInit(): Promise<void> {
    this.started ??= this.start();
    return this.started;
  }

  private async start(): Promise<void> {
    await this.boss.start();
    // A job comes back to the queue only when its worker died (the handler itself records every
    // outcome): then the attempt is made again, a few times, before pg-boss gives up on it.
    await this.boss.createQueue(DELIVERY_QUEUE, {
      retryLimit: 10,
      retryDelay: 5,
      retryBackoff: true,
      expireInSeconds: Math.ceil(this.config.webhookTimeoutMs / 1000) + 30,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.started?.catch(() => undefined);
    await this.boss.stop({ graceful: false, close: false }).catch(() => undefined);
  }

  /** Enqueues attempts in the caller's transaction. */
  async enqueue(tx: Tx, jobs: AttemptJobInsert[]): Promise<void> {
    if (!jobs.length) return;
    await this.onModuleInit();
    await this.boss.insert(
      DELIVERY_QUEUE,
      jobs.map((j) => ({
        id: attemptJobId(j),
        data: { deliveryId: j.deliveryId, attempt: j.attempt, ...(j.manual ? { manual: true } : {}) } satisfies AttemptJob,
        group: { id: j.subscriptionId },
        ...(j.startAfter ? { startAfter: j.startAfter } : {}),
      })),
      { db: executor(tx) },
    );
  }

  /** Up to `count` attempts due now, at most `perSubscription` in flight per subscription across every worker. */
  fetch(count: number, perSubscription: number): Promise<Job<AttemptJob>[]> {
    return this.boss.fetch<AttemptJob>(DELIVERY_QUEUE, { batchSize: count, groupConcurrency: perSubscription });
  }

  async complete(job: Job<AttemptJob>): Promise<void> {
    await this.boss.complete(DELIVERY_QUEUE, { id: job.id, retryCount: job.retryCount });
  }

  async fail(job: Job<AttemptJob>, err: Error): Promise<void> {
    await this.boss.fail(DELIVERY_QUEUE, { id: job.id, retryCount: job.retryCount }, { message: err.message });
  }
}
