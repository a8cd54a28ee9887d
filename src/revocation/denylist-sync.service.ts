import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit, Optional } from '@nestjs/common';
import { Metrics } from '../infra/metrics/metrics.js';
import { DenylistStore, type DenylistEntry } from './denylist.store.js';
import { type RevocationRecord, RevocationRepository } from './revocation.repository.js';

const POLL_MS = 1000;
/** How long start-up waits for the store to be ready (the mirror to join); past it, checks fail closed until it is. */
const READY_WAIT_MS = 5000;
/** Notes of records written here that the poll has not met after this long are dropped (it met them before they were noted). */
const NOTE_TTL_MS = 60_000;
/** At most this many notes: past it they are all dropped (the poll then writes those records again, which is harmless). */
const NOTE_LIMIT = 100_000;

const noteKey = (r: Pick<RevocationRecord, 'kind' | 'subject' | 'cutoffMs'>) => `${r.kind}\u0000${r.subject}\u0000${r.cutoffMs ?? ''}`;

const toEntry = (r: RevocationRecord, now: number): DenylistEntry => ({
  kind: r.kind,
  subject: r.subject,
  cutoffMs: r.cutoffMs,
  ttlSeconds: Math.max(1, (r.honourUntil.getTime() - now) / 1000),
});

/**
 * Keeps the denylist equal to what PostgreSQL says is in force:
 * - at start-up, and whenever the store has lost its data, it rebuilds the whole denylist from the
 *   `revocations` table (meanwhile the store refuses checks, so protected requests get 503);
 * - every second it applies revocations recorded since it last looked, so a revocation whose own
 *   denylist write failed after its commit still takes effect everywhere.
 */
@Injectable()
export class DenylistSync implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('DenylistSync');
  private lastId = '0';
  private timer?: NodeJS.Timeout;
  private rebuilding?: Promise<void>;
  private stopped = false;
  /** Set when this instance saw the store fail: it accepts no token until it has caught up with PostgreSQL. */
  private dirty = false;
  private catchingUp?: Promise<void>;
  /**
   * Records this instance committed and then wrote to the denylist itself: the poll, which reads every
   * record committed since its last look, need not write these again. At a steady revocation rate the
   * poll otherwise rewrote each second's revocations in one MULTI, a burst on this instance's event
   * loop and on Redis once a second.
   */
  private readonly appliedHere = new Map<string, number>();

  constructor(
    private readonly store: DenylistStore,
    private readonly repo: RevocationRepository,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  async onModuleInit(): Promise<void> {
    this.store.onLost(() => void this.rebuild().catch(() => undefined));
    if (this.store.kind === 'in-process' || !(await this.store.intact().catch(() => false))) {
      await this.rebuild().catch((err: Error) => this.logger.warn(`initial denylist rebuild failed, retrying: ${err.message}`));
    } else {
      this.lastId = await this.repo.latestId();
    }
    this.timer = setInterval(() => void this.tick(), POLL_MS);
    this.timer.unref();
    this.store.start();
    // The mirror answers its first check once it has joined the feed (a few ms; bounded if Redis is away).
    await this.store.whenReady(READY_WAIT_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.store.stop();
  }

  /** True while this instance may be missing revocations: checks must fail closed. */
  get behind(): boolean {
    return this.dirty;
  }

  /** The store failed under this instance (a write or a read): catch up before trusting it again. */
  markDirty(): void {
    this.dirty = true;
  }

  /** RevocationService wrote these committed records to the denylist itself. */
  noteApplied(records: readonly Pick<RevocationRecord, 'kind' | 'subject' | 'cutoffMs'>[]): void {
    if (this.appliedHere.size + records.length > NOTE_LIMIT) this.appliedHere.clear();
    const now = Date.now();
    for (const r of records) this.appliedHere.set(noteKey(r), now);
  }

  /**
   * Applies what PostgreSQL recorded since the last look (rebuilding if the store lost its data),
   * then trusts the store again. Concurrent callers share one catch-up.
   */
  catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        await this.syncOnce();
        this.dirty = false;
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  /** Rebuilds the whole denylist from PostgreSQL; concurrent callers share one rebuild. */
  rebuild(): Promise<void> {
    this.rebuilding ??= (async () => {
      try {
        const lastId = await this.repo.latestId();
        const now = Date.now();
        const records = await this.repo.inForce(new Date(now));
        await this.store.rebuild(records.map((r) => toEntry(r, now)));
        this.appliedHere.clear();
        if (BigInt(lastId) > BigInt(this.lastId)) this.lastId = lastId;
        this.metrics?.denylistRebuilt();
        this.logger.log(`denylist rebuilt from PostgreSQL: ${records.length} revocations in force`);
      } finally {
        this.rebuilding = undefined;
      }
    })();
    return this.rebuilding;
  }

  /** One round of the poll: rebuild if the store lost its data, then apply what is new. */
  async tick(): Promise<void> {
    if (this.stopped || this.rebuilding) return;
    try {
      if (this.dirty) await this.catchUp();
      else await this.syncOnce();
    } catch (err) {
      this.dirty = true;
      this.metrics?.denylistSyncFailed();
      this.logger.warn(`denylist sync failed: ${(err as Error).message}`);
    }
  }

  private async syncOnce(): Promise<void> {
    if (!(await this.store.intact())) {
      await this.rebuild();
      return;
    }
    const { records, lastId } = await this.repo.since(this.lastId, new Date());
    // What this instance already wrote is skipped; what other instances (or a failed write) left is applied.
    const missing = records.filter((r) => !this.appliedHere.delete(noteKey(r)) && !this.store.covers(r));
    if (missing.length) await this.store.add(missing.map((r) => toEntry(r, Date.now())), { confirm: false });
    this.lastId = lastId;
    const stale = Date.now() - NOTE_TTL_MS;
    for (const [key, at] of this.appliedHere) {
      if (at >= stale) break;
      this.appliedHere.delete(key);
    }
    this.metrics?.denylistSynced();
  }
}
