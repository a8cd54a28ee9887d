import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from '../../src/infra/rate-limit/rate-limiter.js';
import { withRealRedis } from '../support/real-redis.js';
import { deleteRedisKeys, freePort, testRedisPrefix } from '../support/isolation.js';

/**
 * The RateLimiter port's contract (fixed-window attempt counters, reserved before the attempt is
 * evaluated): the same cases for every adapter. Where an adapter cannot show a case (process memory
 * has nothing to be unreachable), it says so with a case for what it does instead.
 */

interface RateLimiterAdapter {
  /** A new limiter of its own (no other limiter's counters). */
  make(): Promise<RateLimiter>;
  /** A limiter whose backend cannot be reached; null: the adapter has no backend. */
  unreachable: (() => Promise<RateLimiter>) | null;
}

const WINDOW = 60;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = () => `k:${randomUUID()}`;

/** Reserves `times` attempts that are kept (failures); each must be granted. */
async function fail(limiter: RateLimiter, k: string, times: number, limit = 1000, windowSeconds = WINDOW): Promise<void> {
  for (let i = 0; i < times; i++) expect(await limiter.reserve(k, limit, windowSeconds)).toBe(0);
}

function rateLimiterContract(adapter: RateLimiterAdapter): void {
  it('grants attempts up to the limit, and refuses the next with the whole seconds to wait (more than 0, at most the window)', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 3, 3);
    const wait = await limiter.reserve(k, 3, WINDOW);
    expect(Number.isInteger(wait)).toBe(true);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(WINDOW);
    // A refused attempt reserves nothing: the limit is the caller's, the same count is under a higher one.
    expect(await limiter.reserve(k, 4, WINDOW)).toBe(0);
    expect(await limiter.reserve(k, 4, WINDOW)).toBeGreaterThan(0);
  });

  it('counts attempts in flight: of a burst at once, exactly the limit is granted', async () => {
    const limiter = await adapter.make();
    const k = key();
    const answers = await Promise.all(Array.from({ length: 25 }, () => limiter.reserve(k, 5, WINDOW)));
    expect(answers.filter((w) => w === 0)).toHaveLength(5);
    expect(answers.filter((w) => w > 0)).toHaveLength(20);
  });

  it('gives a released attempt back (a success is not a failure), and never below zero', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 2, 2);
    expect(await limiter.reserve(k, 2, WINDOW)).toBeGreaterThan(0);
    await limiter.release(k);
    expect(await limiter.reserve(k, 2, WINDOW)).toBe(0);
    expect(await limiter.reserve(k, 2, WINDOW)).toBeGreaterThan(0);
    // Releasing a key that was never reserved grants nothing extra.
    const fresh = key();
    await limiter.release(fresh);
    await limiter.release(fresh);
    await fail(limiter, fresh, 1, 1);
    expect(await limiter.reserve(fresh, 1, WINDOW)).toBeGreaterThan(0);
  });

  it('counts each key on its own', async () => {
    const limiter = await adapter.make();
    const [a, b] = [key(), key()];
    await fail(limiter, a, 3, 3);
    expect(await limiter.reserve(a, 3, WINDOW)).toBeGreaterThan(0);
    expect(await limiter.reserve(b, 3, WINDOW)).toBe(0);
  });

  it('forgets the attempts once the window has passed: the next attempt starts a new count', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 2, 2, 1);
    expect(await limiter.reserve(k, 2, 1)).toBeGreaterThan(0);
    await sleep(1500);
    await fail(limiter, k, 2, 2, 1);
    expect(await limiter.reserve(k, 2, 1)).toBeGreaterThan(0);
  });

  it('keeps a fixed window: an attempt inside the window does not make it end later, and a release after it creates nothing', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 1, 2, 1);
    await sleep(600);
    await fail(limiter, k, 1, 2, 1);
    expect(await limiter.reserve(k, 2, 1)).toBeGreaterThan(0);
    // 1.2 s after the first attempt: its window (1 s) is over, though the second is only 0.6 s old.
    await sleep(600);
    await limiter.release(k);
    await fail(limiter, k, 2, 2, 1);
    expect(await limiter.reserve(k, 2, 1)).toBeGreaterThan(0);
  });

  const { unreachable } = adapter;
  if (unreachable) {
    it('rejects when its counters cannot be reached (sign-in then answers 503)', async () => {
      const limiter = await unreachable();
      await expect(limiter.reserve(key(), 3, WINDOW)).rejects.toThrow();
      await expect(limiter.release(key())).rejects.toThrow();
    });
  } else {
    it('has no backend to be unreachable (process memory): reserve() and release() always answer', async () => {
      const limiter = await adapter.make();
      const k = key();
      await expect(limiter.reserve(k, 1, WINDOW)).resolves.toBe(0);
      await expect(limiter.release(k)).resolves.toBeUndefined();
    });
  }
}

describe('RateLimiter contract: MemoryRateLimiter', () => {
  rateLimiterContract({ make: async () => new MemoryRateLimiter(), unreachable: null });
});

withRealRedis('RateLimiter contract: RedisRateLimiter', () => {
  /**
   * Like the app's client (src/infra/redis): no offline queue, so an unreachable Redis fails at once.
   * A short disconnectTimeout: ioredis leaves its 2 s disconnect timer running for a socket that had
   * already closed (a refused or cut connection), which keeps the jest worker from exiting.
   */
  const clientOptions: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000, disconnectTimeout: 50 };
  const clients: Redis[] = [];
  const prefixes: string[] = [];
  let redis: Redis;

  const connect = (url: string): Redis => {
    const client = new Redis(url, { ...clientOptions, retryStrategy: (times) => Math.min(times * 100, 1000) });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const own = (client: Redis) => {
    const prefix = testRedisPrefix();
    prefixes.push(prefix);
    return new RedisRateLimiter(client, prefix);
  };

  beforeAll(async () => {
    redis = connect(process.env.REDIS_URL!);
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      redis.once('ready', () => resolve());
      setTimeout(() => reject(new Error(`Redis not ready: ${redis.status}`)), 5000).unref();
    });
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteRedisKeys(prefix);
    for (const client of clients) client.disconnect();
  });

  rateLimiterContract({
    make: async () => own(redis),
    unreachable: async () => own(connect(`redis://127.0.0.1:${await freePort()}`)),
  });
});
