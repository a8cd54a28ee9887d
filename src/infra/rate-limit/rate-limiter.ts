import type { RedisClient } from '../redis/redis.module.js';

/**
 * Port: fixed-window attempt counters for brute-force throttling. An attempt is reserved before it
 * is evaluated, so attempts in flight count: past the limit every request is refused, however many
 * arrive at once. A reservation stays counted (a failure) unless it is released (the attempt
 * succeeded, or could not be evaluated).
 */
export abstract class RateLimiter {
  /**
   * Reserves one attempt against `key`, whose window of `windowSeconds` starts at its first
   * attempt. 0 when reserved; otherwise the whole seconds until the window ends, and nothing is
   * reserved.
   */
  abstract reserve(key: string, limit: number, windowSeconds: number): Promise<number>;
  /** Gives back one reservation of `key` (no-op once its window has ended). */
  abstract release(key: string): Promise<void>;
}

/** INCR, start the window at the first attempt, and give the attempt back when it is over the limit. */
const RESERVE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return redis.call('PTTL', KEYS[1])
end
return 0`;

/** DECR only a live counter: never create one without a window. */
const RELEASE = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0`;

export class RedisRateLimiter extends RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
  }

  async reserve(key: string, limit: number, windowSeconds: number): Promise<number> {
    const pttl = Number(await this.redis.eval(RESERVE, 1, this.keyOf(key), String(limit), String(windowSeconds)));
    return pttl === 0 ? 0 : Math.max(1, Math.ceil(pttl / 1000));
  }

  async release(key: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keyOf(key));
  }

  private keyOf(key: string): string {
    return `${this.prefix}:rl:${key}`;
  }
}

export class MemoryRateLimiter extends RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  async reserve(key: string, limit: number, windowSeconds: number): Promise<number> {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.windows.set(key, w);
    }
    if (w.count >= limit) return Math.max(1, Math.ceil((w.resetAt - now) / 1000));
    w.count++;
    if (this.windows.size > 100_000) for (const [k, v] of this.windows) if (v.resetAt <= now) this.windows.delete(k);
    return 0;
  }

  async release(key: string): Promise<void> {
    const w = this.windows.get(key);
    if (w && w.resetAt > Date.now() && w.count > 0) w.count--;
  }
}
