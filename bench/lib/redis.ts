import { Redis } from 'ioredis';

/** A connection of the bench's own to the Redis under test (loopback), bounded like the server's. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, commandTimeout: 10_000, enableOfflineQueue: false });
  await redis.connect();
  return redis;
}

/** The denylist's keys of one server prefix: `{<prefix>}:<kind>:<subject>` and `{<prefix>}:epoch`. */
export const denylistPattern = (prefix: string, kind?: string) => `{${prefix}}:${kind ? `${kind}:` : ''}*`;

/**
 * Keys matching `pattern`, by SCAN (never KEYS), at most `limit` of them. SCAN skips keys whose TTL
 * has passed (and deletes them), so a count after expiry is the live count.
 */
export async function scanKeys(redis: Redis, pattern: string, limit = 1_000_000): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  let rounds = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const k of keys) if (out.length < limit) out.push(k);
    cursor = next;
  } while (cursor !== '0' && out.length < limit && ++rounds < 1_000_000);
  return out;
}

export interface RedisMemory {
  /** INFO memory used_memory: everything Redis holds (all clients' data included). */
  usedMemory: number;
  /** used_memory_dataset: used_memory less Redis's own overhead. */
  usedMemoryDataset: number;
  /** Keys in the current database (everyone's). */
  dbsize: number;
}

export async function redisMemory(redis: Redis): Promise<RedisMemory> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  return { usedMemory: field('used_memory'), usedMemoryDataset: field('used_memory_dataset'), dbsize: await redis.dbsize() };
}

/** `MEMORY USAGE <key> SAMPLES 0` for each key (null for a key gone meanwhile), in one pipeline. */
export async function memoryUsage(redis: Redis, keys: string[]): Promise<(number | null)[]> {
  if (!keys.length) return [];
  const pipeline = redis.pipeline();
  for (const k of keys) pipeline.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, v]) => (err || v === null || v === undefined ? null : Number(v)));
}
