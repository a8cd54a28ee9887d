import { Injectable, Logger, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Job } from 'pg-boss';
import { AuditLog } from '../../audit/audit-log.js';
import { AppConfig } from '../../config/config.schema.js';
import { KeyEncryption } from '../../infra/crypto/key-encryption.js';
import { Database, type Tx } from '../../infra/database/database.js';
import type { DeliveryStatus } from '../delivery.js';
import { type AttemptOutcome, type AttemptWork, DeliveryStore } from '../persistence/sql-deliveries.js';
import { SubscriptionStore } from '../persistence/sql-subscriptions.js';
import { LogoutTokenSigner } from '../logout-token-signer.js';
import { signedHeaders, webhookId } from '../webhook-signing.js';
import { ATTEMPT_JOB_RETRIES, type AttemptJob, DeliveryQueue, fetchSize } from './delivery-queue.js';
import { resolveTarget, TargetRefused } from './target.js';
import { type AttemptResult, WebhookSender } from './webhook-sender.js';

/** How often an idle worker asks for due attempts (retries, and events written by other instances). */
export const POLL_MS = 500;
/**
 * How often the attempts kept behind (retries, a failing subscription's) are looked for: such a
 * fetch walks a stuck subscription's whole backlog, so not at every poll. Retries wait seconds
 * anyway (WEBHOOK_RETRY_DELAYS, with jitter).
 */
const BEHIND_POLL_MS = 2_000;
/** How often, and after how long without a change, a delivery with no job left is failed (see DeliveryStore.failOrphans). */
const ORPHAN_SWEEP_MS = 60_000;
const ORPHAN_AFTER_SECONDS = 300;

/**
 * How long an attempt may wait for an answer before its subscription goes behind the healthy ones:
 * far longer than a healthy receiver takes, far shorter than the timeout (which cuts it off).
 */
export const stallAfterMs = (timeoutMs: number) => Math.min(1_000, Math.floor(timeoutMs / 2));

/** Each retry waits its configured delay, give or take a fifth (jitter spreads a burst of retries). */
export const withJitter = (seconds: number, random = Math.random) => seconds * 1000 * (0.8 + 0.4 * random());

/** What an attempt's answer leads to. */
export function nextStep(result: Pick<AttemptResult, 'status'>, attempt: number, manual: boolean, retryDelays: number[]): { status: DeliveryStatus; retryInSeconds?: number; gone: boolean } {
  const s = result.status;
  if (s !== null && s >= 200 && s < 300) return { status: 'delivered', gone: false };
  const gone = s === 410;
  if (gone || manual || attempt > retryDelays.length) return { status: 'failed', gone };
  return { status: 'retrying', retryInSeconds: retryDelays[attempt - 1], gone };
}

/**
 * Takes due attempts from the queue and makes them, up to WEBHOOK_CONCURRENCY at once in this
 * process and WEBHOOK_SUBSCRIPTION_CONCURRENCY per subscription across every worker, so a
 * subscriber that hangs holds only its own slots. Each attempt is recorded with its outcome, and
 * the next one scheduled, in one transaction; the job completes after that. A worker that dies
 * mid-attempt leaves the job active: pg-boss gives it back once it expires, and the attempt is
 * made again (at least once).
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private inFlight = 0;
  private stopped = true;
  private woken = false;
  private wakeup?: () => void;
  private loopDone?: Promise<void>;
  private readonly running = new Set<Promise<void>>();
  private orphanTimer?: NodeJS.Timeout;
  /** The last fetch found work. */
  private flowing = false;
  private lastFullFetch = 0;
  private moreBehind = false;
  /** An attempt of a subscription kept behind finished: the next fetch asks for those too. */
  private behindFreed = false;
  /** Subscriptions being put behind by this process because an attempt stalled. */
  private readonly stalling = new Set<string>();

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly deliveries: DeliveryStore,
    private readonly subscriptions: SubscriptionStore,
    private readonly sender: WebhookSender,
    private readonly encryption: KeyEncryption,
    private readonly audit: AuditLog,
    private readonly db: Database,
    private readonly config: AppConfig,
    @Optional() private readonly logoutTokens?: LogoutTokenSigner,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.webhookWorker) return;
    this.stopped = false;
    this.loopDone = this.loop();
    this.orphanTimer = setInterval(() => {
      this.deliveries
        .failOrphans(ORPHAN_AFTER_SECONDS)
        .then((n) => n && this.logger.warn(`${n} webhook deliveries had lost their attempt: failed, kept for a redelivery`))
        .catch((err: Error) => this.logger.warn(`looking for lost delivery attempts failed: ${err.message}`));
    }, ORPHAN_SWEEP_MS);
    this.orphanTimer.unref();
  }

  /** First in a shutdown (before the sender closes its connections): no new attempt, and the ones in flight finish. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.orphanTimer);
    this.wake();
    await this.loopDone;
    await Promise.allSettled([...this.running]);
  }

  /** New attempts may be due (an event was just committed here, or a slot freed up). */
  wake(): void {
    this.woken = true;
    this.wakeup?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const free = this.config.webhookConcurrency - this.inFlight;
      const want = fetchSize(free);
      let got = 0;
      this.woken = false;
      // The attempts kept behind are looked for every BEHIND_POLL_MS (and again at once while such a
      // fetch comes back full); otherwise a fetch asks only for the healthy ones (see DeliveryQueue.fetch).
      const all = this.behindFreed || this.moreBehind || Date.now() - this.lastFullFetch >= BEHIND_POLL_MS;
      if (free > 0) {
        if (all) {
          this.lastFullFetch = Date.now();
          this.behindFreed = false;
        }
        try {
          const jobs = await this.queue.fetch(want, this.config.webhookSubscriptionConcurrency, !all);
          got = jobs.length;
          for (const job of jobs) this.start(job);
        } catch (err) {
          if (!this.stopped) this.logger.warn(`fetching delivery attempts failed: ${(err as Error).message}`);
        }
      }
      this.flowing = got > 0;
      this.moreBehind = all && got === want;
      if (this.stopped || (free > 0 && got === want) || this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.wakeup = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeup = undefined;
    }
  }

  private start(job: Job<AttemptJob>): void {
    this.inFlight++;
    const run = this.run(job).finally(() => {
      // A freed slot matters to a loop that stopped fetching for want of one, and while work flows
      // (a subscription at its limit has more waiting); an idle queue is not asked again for it.
      if (this.inFlight-- === this.config.webhookConcurrency || this.flowing || this.behindFreed) this.wake();
      this.running.delete(run);
    });
    this.running.add(run);
  }

  private async run(job: Job<AttemptJob>): Promise<void> {
    try {
      // Completed in the transaction that records the attempt; here when there was nothing to do.
      if (!(await this.attempt(job))) await this.queue.complete(job);
    } catch (err) {
      const message = (err as Error).message;
      this.logger.error(`delivery attempt ${job.data.attempt} of ${job.data.deliveryId} failed to run: ${message}`);
      // pg-boss runs it again a few times; after the last, the delivery is failed (and may be redelivered), not left pending.
      if (job.retryCount >= ATTEMPT_JOB_RETRIES) {
        await this.deliveries.abandon(this.db, job.data.deliveryId, job.data.attempt - 1, `the attempt could not be made: ${message}`.slice(0, 500)).catch(() => undefined);
      }
      await this.queue.fail(job, err as Error).catch(() => undefined);
    }
  }

  /**
   * One attempt, recorded with its job's completion in one transaction; answers false when there
   * was nothing to do (made already, or the subscription is off).
   */
  private async attempt(job: Job<AttemptJob>): Promise<boolean> {
    const { deliveryId, attempt, manual = false } = job.data;
    const work = await this.queue.recording((tx) => this.deliveries.forAttempt(tx, deliveryId), false);
    if (!work || work.delivery.attempts >= attempt) return false;
    const d = work.delivery;
    if (!work.subscriptionEnabled && d.eventType !== 'webhook.test') {
      await this.deliveries.abandon(this.db, d.id, d.attempts, 'not attempted: the subscription is disabled');
      return false;
    }
    const secrets = work.sealedSecrets.map((s) => this.encryption.decrypt(s));
    const startedAt = new Date();
    // OpenID Connect Back-Channel Logout 1.0 section 2.5: a form POST of the logout token (signed as a webhook too).
    const body = work.kind === 'backchannel_logout' ? new URLSearchParams({ logout_token: this.logoutToken(work.body.data) }).toString() : JSON.stringify(work.body);
    const contentType = work.kind === 'backchannel_logout' ? 'application/x-www-form-urlencoded' : 'application/json';
    // A receiver still silent long after a healthy one would have answered goes behind now, while
    // its backlog is small, not only once the attempt times out (WEBHOOK_TIMEOUT_MS).
    const stallMs = stallAfterMs(this.config.webhookTimeoutMs);
    let stalled = false;
    const stall = work.subscriptionBehind
      ? undefined
      : setTimeout(() => {
          stalled = true;
          this.putStalledBehind(d.subscriptionId);
        }, stallMs);
    let result: AttemptResult;
    try {
      result = await this.send(d.url, webhookId(d.eventId), body, secrets, contentType);
    } finally {
      clearTimeout(stall);
    }
    const step = nextStep(result, attempt, manual, this.config.webhookRetryDelays);
    const nextAttemptAt = step.retryInSeconds ? new Date(Date.now() + withJitter(step.retryInSeconds)) : null;
    const outcome: AttemptOutcome = { number: attempt, manual, startedAt, ...result, next: { status: step.status, nextAttemptAt } };
    // A delivered attempt is one statement (it also ends the subscription's failure streak); a failed one, one transaction.
    const more = step.status !== 'delivered';
    await this.queue.recording(async (tx) => {
      if (!(await this.deliveries.recordAttempt(tx, d.id, outcome, job.id, stallMs))) return;
      if (nextAttemptAt) await this.queue.enqueue(tx, [{ deliveryId: d.id, subscriptionId: d.subscriptionId, attempt: attempt + 1, startAfter: nextAttemptAt, behind: true }]);
      if (step.status !== 'delivered') await this.afterFailure(tx, d.subscriptionId, step.gone, work.kind);
    }, more);
    // A subscription kept behind has its attempts fetched only now and then (BEHIND_POLL_MS): the
    // slot this one held is filled from them at once, so a slow receiver is not slowed down further.
    // (The loop is woken once this slot is free: see start.)
    if (work.subscriptionBehind || stalled || more) this.behindFreed = true;
    return true;
  }

  /** An attempt to this subscription has waited long for an answer: it goes behind (once, across attempts and workers). */
  private putStalledBehind(subscriptionId: string): void {
    if (this.stalling.has(subscriptionId)) return;
    this.stalling.add(subscriptionId);
    const put: Promise<void> = this.queue
      .recording((tx) => this.deliveries.putBehind(tx, subscriptionId, false), false)
      .then(() => undefined)
      .catch((err: Error) => this.logger.warn(`putting a stalled webhook subscription behind failed: ${err.message}`))
      .finally(() => {
        this.stalling.delete(subscriptionId);
        this.running.delete(put);
      });
    // A shutdown waits for it, as for an attempt (the connections close after).
    this.running.add(put);
  }

  private logoutToken(data: Record<string, unknown>): string {
    if (!this.logoutTokens) throw new Error('this process cannot sign back-channel logout tokens');
    return this.logoutTokens.sign({ clientId: String(data.client_id), sub: String(data.sub), sid: String(data.sid), jti: String(data.jti) });
  }

  private async send(url: string, msgId: string, body: string, secrets: string[], contentType: string): Promise<AttemptResult> {
    let target;
    try {
      target = await resolveTarget(url, { production: this.config.env === 'production', allowPrivateNetworks: this.config.webhookAllowPrivateNetworks }, undefined, this.config.webhookTimeoutMs);
    } catch (err) {
      if (!(err instanceof TargetRefused)) throw err;
      return { status: null, durationMs: 0, error: `refused: ${err.message}`, excerpt: '' };
    }
    return this.sender.post(target, { ...signedHeaders(msgId, new Date(), body, secrets), 'content-type': contentType }, body, this.config.webhookTimeoutMs);
  }

  /** 410 Gone disables the subscription at once; so does failing without a success for WEBHOOK_DISABLE_AFTER (webhooks only). */
  private async afterFailure(tx: Tx, subscriptionId: string, gone: boolean, kind: AttemptWork['kind']): Promise<void> {
    // A client's back-channel logout receiver follows the client, not the webhook API: nobody could
    // enable it again, so it is never disabled (no failure streak); each logout is still retried, then kept as failed.
    const since = await this.deliveries.putBehind(tx, subscriptionId, kind !== 'backchannel_logout');
    if (kind === 'backchannel_logout') return;
    const tooLong = since !== null && Date.now() - since.getTime() >= this.config.webhookDisableAfter * 1000;
    if (!gone && !tooLong) return;
    const reason = gone ? 'the receiver answered 410 Gone' : `failing without a success since ${since!.toISOString()}`;
    if (!(await this.subscriptions.disable(tx, subscriptionId, reason))) return;
    await this.audit.record({ action: 'webhook.disabled', targetType: 'webhook', targetId: subscriptionId, data: { cause: gone ? 'gone' : 'failing' } }, { actorType: 'system', actorId: null, reason }, tx);
    this.logger.warn(`webhook subscription ${subscriptionId} disabled: ${reason}`);
  }
}
