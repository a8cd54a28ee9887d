import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from '../../src/infra/rate-limit/rate-limiter.js';
import { withRealRedis } from '../support/real-redis.js';
import { deleteRedisKeys, freePort, testRedisPrefix } from '../support/isolation.js';

/**
 * The RateLimiter port's contract (fixed-window failure counters): the same cases for every
 * adapter. Where an adapter cannot show a case (process memory has nothing to be unreachable), it
 * says so with a case for what it does instead.
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

async function fail(limiter: RateLimiter, k: string, times: number, windowSeconds = WINDOW): Promise<void> {
  for (let i = 0; i < times; i++) await limiter.recordFailure(k, windowSeconds);
}

function rateLimiterContract(adapter: RateLimiterAdapter): void {
  it('answers 0 under the limit, and checking does not count as a failure', async () => {
    const limiter = await adapter.make();
    const k = key();
    for (let i = 0; i < 10; i++) expect(await limiter.blockedFor(k, 3)).toBe(0);
    await fail(limiter, k, 1);
    expect(await limiter.blockedFor(k, 3)).toBe(0);
    await fail(limiter, k, 1);
    expect(await limiter.blockedFor(k, 3)).toBe(0);
    expect(await limiter.blockedFor(k, 3)).toBe(0);
  });

  it('at and past the limit answers the whole seconds to wait: more than 0, at most the window', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 3);
    const wait = await limiter.blockedFor(k, 3);
    expect(Number.isInteger(wait)).toBe(true);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(WINDOW);
    // The limit is the caller's: the same count is under a higher one.
    expect(await limiter.blockedFor(k, 4)).toBe(0);
    expect(await limiter.blockedFor(k, 2)).toBeGreaterThan(0);
    await fail(limiter, k, 2);
    const past = await limiter.blockedFor(k, 3);
    expect(Number.isInteger(past)).toBe(true);
    expect(past).toBeGreaterThan(0);
    expect(past).toBeLessThanOrEqual(WINDOW);
    expect(await limiter.blockedFor(k, 4)).toBeGreaterThan(0);
  });

  it('counts each key on its own', async () => {
    const limiter = await adapter.make();
    const [a, b] = [key(), key()];
    await fail(limiter, a, 3);
    expect(await limiter.blockedFor(a, 3)).toBeGreaterThan(0);
    expect(await limiter.blockedFor(b, 3)).toBe(0);
    await fail(limiter, b, 2);
    expect(await limiter.blockedFor(b, 3)).toBe(0);
    expect(await limiter.blockedFor(b, 2)).toBeGreaterThan(0);
    expect(await limiter.blockedFor(a, 3)).toBeGreaterThan(0);
  });

  it('forgets the failures once the window has passed: the next failure starts a new count', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 2, 1);
    expect(await limiter.blockedFor(k, 2)).toBeGreaterThan(0);
    await sleep(1500);
    expect(await limiter.blockedFor(k, 2)).toBe(0);
    await fail(limiter, k, 1, 1);
    expect(await limiter.blockedFor(k, 2)).toBe(0);
    await fail(limiter, k, 1, 1);
    expect(await limiter.blockedFor(k, 2)).toBeGreaterThan(0);
  });

  it('keeps a fixed window: a failure inside the window does not make it end later', async () => {
    const limiter = await adapter.make();
    const k = key();
    await fail(limiter, k, 1, 1);
    await sleep(600);
    await fail(limiter, k, 1, 1);
    expect(await limiter.blockedFor(k, 2)).toBeGreaterThan(0);
    // 1.2 s after the first failure: its window (1 s) is over, though the second failure is only 0.6 s old.
    await sleep(600);
    expect(await limiter.blockedFor(k, 2)).toBe(0);
  });

  const { unreachable } = adapter;
  if (unreachable) {
    it('rejects when its counters cannot be read (the password grant then refuses sign-in)', async () => {
      const limiter = await unreachable();
      await expect(limiter.blockedFor(key(), 3)).rejects.toThrow();
    });
  } else {
    it('has no backend to be unreachable (process memory): blockedFor() and recordFailure() always answer', async () => {
      const limiter = await adapter.make();
      const k = key();
      await expect(limiter.recordFailure(k, WINDOW)).resolves.toBeUndefined();
      await expect(limiter.blockedFor(k, 1)).resolves.toBeGreaterThan(0);
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
