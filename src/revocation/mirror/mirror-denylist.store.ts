import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { duplicateRedis, type RedisClient, whenConnected } from '../../infra/redis/redis.module.js';
import { RevocationNotPropagated, RevocationStateUnavailable } from '../revocation.errors.js';
import { DenylistStore, type DenylistEntry, type RevokedBy, type TokenRef } from '../denylist.store.js';
import type { RedisDenylistStore } from '../redis-denylist.store.js';
import { DenylistMemory, type MirrorEntry } from './denylist-memory.js';
import { APPEND, LEAVE, PENDING, type Pending, RENEW, type StreamRead, streamIdBefore } from './feed-scripts.js';
import { wakeable } from './wakeups.js';

/** The timings of the lease (see docs/architecture.md, "The denylist mirror"). */
export interface MirrorTimings {
  /** How long a renewal keeps an instance among the live ones, on Redis's clock. */
  leaseMs: number;
  /** An instance stops accepting this long before its lease could lapse (clock-rate drift, scheduling). */
  marginMs: number;
  /** The longest a revoke call waits for the live instances' acknowledgements before answering 503. */
  ackTimeoutMs: number;
  /** How long one read of the feed blocks: the heartbeat, as a renewal follows each read. */
  blockMs: number;
}

/** The feed keeps about this many revocations; an instance that fell further behind joins again from PostgreSQL. */
const FEED_LENGTH = 10_000;

/** The longest a waiting revocation sleeps between checks when no acknowledgement wakes it. */
const FALLBACK_POLL_MS = 50;
/** The longest a check waits for this instance to get back in step (see check). */
const MAX_IN_STEP_WAIT_MS = 1000;

/** An instance forgets expired entries at most this often (the memory's buckets are a second wide). */
const EXPIRE_EVERY_MS = 1000;

type Row = [kind: DenylistEntry['kind'], subject: string, cutoffMs: number | null, untilMs: number];

/**
 * The denylist mirrored in this process's memory, fed by a Redis stream, with read-your-revocation
 * kept by acknowledgement instead of by a round trip per request:
 * - a revocation writes the Redis keys and appends to the feed in one MULTI, applies itself here,
 *   then waits until every live instance has acknowledged the feed entry (503 past ackTimeoutMs);
 * - each instance reads the feed (a blocking XREAD that returns at once on news, else after
 *   blockMs), applies it, and then renews its lease and acknowledges what it applied, in one script;
 * - an instance accepts a token only until `sent + leaseMs - marginMs`, where `sent` is when it sent
 *   the read that preceded a renewal which found its lease unbroken: it stops before any other
 *   instance can consider its lease lapsed, and so before a revocation can stop waiting for it;
 * - a new instance, or one whose lease lapsed or whose epoch changed (Redis lost its data), first
 *   renews (it is then waited for), then notes the feed's tail, loads what PostgreSQL has in force,
 *   and reads the feed from that tail; it accepts again after the next unbroken renewal.
 */
export class MirrorDenylistStore extends DenylistStore {
  readonly kind = 'redis-mirror' as const;
  readonly instanceId = randomUUID();
  private readonly logger = new Logger('DenylistMirror');
  private memory = new DenylistMemory();
  private lastId = '0-0';
  private epoch: string | null = null;
  private acceptUntil = 0;
  private stopped = false;
  private loop?: Promise<void>;
  private readonly feed: RedisClient;
  /** Blocking reads of the ack feed, while revocations made here wait for acknowledgements. */
  private readonly ackReader: RedisClient;
  /** The waiting revocations' wake-ups, and where the ack feed reader is (null: not running). */
  private readonly ackWaiters = new Set<() => void>();
  private ackPosition: string | null = null;
  /** Those waiting for this instance to accept (see whenReady). */
  private readonly inStepWaiters = new Set<() => void>();
  private readonly keys: { feed: string; members: string; acks: string; epoch: string; ackFeed: string };
  /** The keys RENEW, PENDING and APPEND take first, in this order. */
  private readonly ackKeys: string[];
  private lastWarning = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly store: RedisDenylistStore,
    prefix: string,
    private readonly timings: MirrorTimings,
    /** What PostgreSQL has in force now. */
    private readonly load: () => Promise<MirrorEntry[]>,
  ) {
    super();
    this.keys = { feed: `{${prefix}}:feed`, members: `{${prefix}}:members`, acks: `{${prefix}}:acks`, epoch: store.epochKey, ackFeed: `{${prefix}}:ackfeed` };
    this.ackKeys = [this.keys.members, this.keys.acks, this.keys.epoch, this.keys.ackFeed];
    // Its own connection: a blocking read must not hold up the shared client's commands.
    const commandTimeout = timings.blockMs + 1000;
    this.feed = duplicateRedis(redis, { commandTimeout });
    this.feed.on('error', () => undefined);
    this.ackReader = duplicateRedis(redis, { commandTimeout });
    this.ackReader.on('error', () => undefined);
  }

  override start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once this instance accepts (a renewal wakes it), or after `ms`. */
  override whenReady(ms: number): Promise<void> {
    const { settled, wake } = wakeable(this.inStepWaiters, ms, () => this.accepting() || this.stopped);
    wake();
    return settled;
  }

  override async stop(): Promise<void> {
    this.stopped = true;
    this.acceptUntil = 0;
    for (const wake of [...this.inStepWaiters]) wake();
    await this.loop?.catch(() => undefined);
    await this.redis.eval(LEAVE, 2, this.keys.members, this.keys.acks, this.instanceId).catch(() => undefined);
    this.feed.disconnect();
    this.ackReader.disconnect();
    for (const wake of [...this.ackWaiters]) wake();
  }

  override accepting(): boolean {
    return performance.now() < this.acceptUntil;
  }

  /** Entries held in memory now (the memory benchmark's count). */
  get entries(): number {
    return this.memory.size;
  }

  /**
   * Out of step is mostly late, not lost (a stalled process's heartbeat answer is often on its socket
   * already; a rejoin is one load from PostgreSQL): a check waits up to half a lease (at most a
   * second) for a renewal to put this instance back in step, then 503s.
   */
  async check(t: TokenRef): Promise<RevokedBy | null> {
    if (!this.accepting()) await this.whenReady(Math.min(this.timings.leaseMs / 2, MAX_IN_STEP_WAIT_MS));
    if (!this.accepting()) throw new RevocationStateUnavailable('this instance is not in step with the revocation feed');
    return this.memory.check(t);
  }

  override covers(e: Pick<DenylistEntry, 'kind' | 'subject' | 'cutoffMs'>): boolean {
    return this.memory.covers(e);
  }

  /**
   * Writes the Redis keys and the feed entry in one MULTI (whose APPEND also says who has yet to
   * acknowledge it), applies them here, and (unless `confirm` is false: the background repair of
   * DenylistSync) waits for every live instance to acknowledge.
   */
  async add(entries: DenylistEntry[], o: { confirm?: boolean } = {}): Promise<void> {
    const now = Date.now();
    const rows: Row[] = entries.map((e) => [e.kind, e.subject, e.cutoffMs ?? null, now + Math.ceil(e.ttlSeconds * 1000)]);
    const [id, ...first] = (await this.store.addAndEval(entries, APPEND, [...this.ackKeys, this.keys.feed], [this.instanceId, FEED_LENGTH, JSON.stringify(rows)])) as [string, ...Pending];
    this.apply(rows);
    if (o.confirm !== false) await this.confirmed(id, first.length === 1 ? -1 : first);
  }

  async rebuild(entries: DenylistEntry[]): Promise<void> {
    // A new epoch: every instance (this one included) joins again, from PostgreSQL. The members went
    // with the data: one lease from now, no instance still accepts under a lease from before the loss.
    await new Promise((r) => setTimeout(r, this.timings.leaseMs));
    await this.store.rebuild(entries);
  }

  intact(): Promise<boolean> {
    return this.store.intact();
  }

  /**
   * Waits until no live instance but this one lacks feed entry `id`; 503 past ackTimeoutMs. Between
   * checks it sleeps until the next acknowledgement on the ack feed, or until the first pending
   * lease would lapse (a stalled instance stops being waited for then), whichever comes first.
   */
  private async confirmed(id: string, first: -1 | Pending): Promise<void> {
    const deadline = performance.now() + this.timings.ackTimeoutMs;
    for (let answer = first; ; answer = (await this.redis.eval(PENDING, 4, ...this.ackKeys, id, this.instanceId)) as -1 | Pending) {
      if (!Array.isArray(answer)) throw new RevocationNotPropagated();
      const [tail, lapseMs, ...pending] = answer;
      if (pending.length === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) {
        this.logger.warn(`revocation not acknowledged within ${this.timings.ackTimeoutMs} ms by ${pending.length} instance(s)`);
        throw new RevocationNotPropagated();
      }
      // At least every FALLBACK_POLL_MS: an instance of an earlier version renews without announcing.
      await this.nextAck(tail, Math.min(left, lapseMs + 1, FALLBACK_POLL_MS));
    }
  }

  /** Resolves at the first acknowledgement after ack feed id `after`, or after `ms`. */
  private nextAck(after: string, ms: number): Promise<void> {
    const { settled, wake } = wakeable(this.ackWaiters, ms);
    if (this.ackPosition === null) {
      this.ackPosition = after;
      void this.readAcks();
    } else if (streamIdBefore(after, this.ackPosition)) {
      // The reader has passed entries this waiter has not seen, or the ack feed started again
      // (Redis lost its data): it reads from here on, and the waiter checks once more now.
      this.ackPosition = after;
      wake();
    }
    return settled;
  }

  /** One blocking reader of the ack feed for every waiting revocation; it stops when none waits. */
  private async readAcks(): Promise<void> {
    while (this.ackWaiters.size > 0 && !this.stopped) {
      let wakeAll = false;
      try {
        const read = (await this.ackReader.xread('COUNT', 1000, 'BLOCK', this.timings.blockMs, 'STREAMS', this.keys.ackFeed, this.ackPosition!)) as StreamRead;
        const entries = read?.[0]?.[1];
        if (entries?.length) {
          this.ackPosition = entries[entries.length - 1][0];
          wakeAll = true;
        }
      } catch {
        // The waiters check again themselves (each PENDING has its own timeout), no faster than every 5 ms.
        await new Promise((r) => setTimeout(r, 5));
        wakeAll = true;
      }
      if (wakeAll) for (const wake of [...this.ackWaiters]) wake();
    }
    this.ackPosition = null;
  }

  private apply(rows: Row[]): void {
    for (const [kind, subject, cutoffMs, untilMs] of rows) this.memory.add({ kind, subject, cutoffMs: cutoffMs ?? undefined, untilMs });
  }

  private async run(): Promise<void> {
    let joined = false;
    let renewedAt = 0;
    let expiredAt = 0;
    /** Another instance's entry was read (or this one joined, acknowledging nothing) and no renewal has acknowledged it yet. */
    let ackOwed = true;
    await whenConnected(this.feed, 2000);
    while (!this.stopped) {
      try {
        if (!joined) {
          await this.join();
          joined = true;
          ackOwed = true;
        }
        const sent = performance.now();
        const read = (await this.feed.xread('BLOCK', this.timings.blockMs, 'STREAMS', this.keys.feed, this.lastId)) as StreamRead;
        for (const [, messages] of read ?? []) {
          for (const [id, fields] of messages) {
            // Its own entries too (applying is idempotent): one appended while it joined may have gone to the memory it replaced.
            const i = fields.indexOf('r');
            if (i >= 0) this.apply(JSON.parse(fields[i + 1]) as Row[]);
            if (fields[fields.indexOf('o') + 1] !== this.instanceId) ackOwed = true;
            this.lastId = id;
          }
        }
        // Nobody waits for an instance's ack of its own revocations: those alone renew no more often than every blockMs.
        if (read && !ackOwed && performance.now() - renewedAt < this.timings.blockMs) continue;
        renewedAt = performance.now();
        const renewed = await this.renew(this.lastId);
        ackOwed = false;
        if (this.stopped) break;
        if (renewed === 1) {
          this.acceptUntil = sent + this.timings.leaseMs - this.timings.marginMs;
          for (const wake of [...this.inStepWaiters]) wake();
        } else {
          // Lapsed (this instance may have missed a revocation that no longer waited for it), or a new epoch.
          this.acceptUntil = 0;
          joined = false;
        }
        if (sent - expiredAt >= EXPIRE_EVERY_MS) {
          expiredAt = sent;
          this.memory.expire();
        }
      } catch (err) {
        if (this.stopped) break;
        if (Date.now() - this.lastWarning > 5000) {
          this.lastWarning = Date.now();
          this.logger.warn(`revocation feed: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Counted among the live instances first, then rebuilt from PostgreSQL and the feed's tail. */
  private async join(): Promise<void> {
    this.acceptUntil = 0;
    const epoch = await this.feed.get(this.keys.epoch);
    if (epoch === null) {
      // Redis lost its data (or is new): DenylistSync rebuilds it, with a new epoch; try again then.
      this.lostHandler?.();
      throw new Error('the denylist is being rebuilt');
    }
    this.epoch = epoch;
    // Acknowledging nothing: every revocation from here on waits for this instance.
    if ((await this.renew('0-0')) === -1) throw new Error('the denylist epoch changed while joining');
    const [tail] = (await this.feed.xrevrange(this.keys.feed, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const fresh = new DenylistMemory();
    for (const e of await this.load()) fresh.add(e);
    this.memory = fresh;
    this.lastId = tail?.[0] ?? '0-0';
  }

  private async renew(ackId: string): Promise<number> {
    return (await this.feed.eval(RENEW, 4, ...this.ackKeys, this.instanceId, ackId, this.epoch ?? '', this.timings.leaseMs)) as number;
  }
}
