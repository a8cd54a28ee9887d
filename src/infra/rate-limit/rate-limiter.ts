import type { Redis } from 'ioredis';

/** Port: fixed-window counters for brute-force throttling. */
export abstract class RateLimiter {
  /** Seconds until `key` may be tried again, or 0 when it is under `limit`. */
  abstract blockedFor(key: string, limit: number): Promise<number>;
  /** Counts one failure against `key` in a window of `windowSeconds`. */
  abstract recordFailure(key: string, windowSeconds: number): Promise<void>;
}

/** A MULTI's replies; a command that failed inside it fails the call (the throttle never reads an error as zero). */
function resultsOf(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('the rate limiter transaction was not executed');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}

export class RedisRateLimiter extends RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    super();
  }

  async blockedFor(key: string, limit: number): Promise<number> {
    const k = `${this.prefix}:rl:${key}`;
    const [count, pttl] = resultsOf(await this.redis.multi().get(k).pttl(k).exec()) as [string | null, number];
    return Number(count ?? 0) >= limit ? Math.max(1, Math.ceil(pttl / 1000)) : 0;
  }

  async recordFailure(key: string, windowSeconds: number): Promise<void> {
    const k = `${this.prefix}:rl:${key}`;
    // EXPIRE ... NX (Redis 7): the window starts at the first failure and is never pushed back.
    resultsOf(await this.redis.multi().incr(k).expire(k, windowSeconds, 'NX').exec());
  }
}

export class MemoryRateLimiter extends RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  async blockedFor(key: string, limit: number): Promise<number> {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= Date.now()) return 0;
    return w.count >= limit ? Math.max(1, Math.ceil((w.resetAt - Date.now()) / 1000)) : 0;
  }

  async recordFailure(key: string, windowSeconds: number): Promise<void> {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now) this.windows.set(key, { count: 1, resetAt: now + windowSeconds * 1000 });
    else w.count++;
    if (this.windows.size > 100_000) for (const [k, v] of this.windows) if (v.resetAt <= now) this.windows.delete(k);
  }
}
