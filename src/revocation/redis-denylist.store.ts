import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../infra/redis/redis.module.js';
import { RevocationStateUnavailable } from './revocation.errors.js';
import { DenylistStore, type DenylistEntry, type DenylistKind, type RevokedBy, type TokenRef, decide } from './denylist.store.js';

const SHORT: Record<DenylistKind, string> = { jti: 'j', sid: 's', user: 'u', client: 'c', kid: 'k', global: 'g' };

/**
 * For cutoffs: keeps the later of the stored and the given cutoff, and the longer of the two
 * expiries, so an entry added again with a shorter life never ends the first one sooner.
 */
const SET_MAX = `
local cur = redis.call('GET', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[2])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then
  if ttl < want then redis.call('PEXPIRE', KEYS[1], want) end
  return 0
end
if cur and ttl > want then want = ttl end
redis.call('SET', KEYS[1], ARGV[1], 'PX', want)
return 1`;

/**
 * The denylist in Redis. Every key shares one hash tag, `{prefix}`, so the check is one MGET that is
 * legal on a Redis Cluster too (all keys hash to one slot). The MGET also reads the epoch key, which
 * is written only together with a complete rebuild: when Redis loses its data, the epoch goes with
 * it, and the check fails closed until the denylist is rebuilt from PostgreSQL.
 */
export class RedisDenylistStore extends DenylistStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
  }

  key(kind: DenylistKind, subject: string): string {
    return `{${this.prefix}}:${SHORT[kind]}:${subject}`;
  }

  get epochKey(): string {
    return `{${this.prefix}}:epoch`;
  }

  async check(t: TokenRef): Promise<RevokedBy | null> {
    let values: (string | null)[];
    try {
      values = await this.redis.mget(
        this.key('jti', t.jti),
        this.key('sid', t.sid ?? '-'),
        this.key('kid', t.kid),
        this.key('user', t.sub),
        this.key('client', t.clientId),
        this.key('global', ''),
        this.epochKey,
      );
    } catch (err) {
      throw new RevocationStateUnavailable((err as Error).message);
    }
    const [jti, sid, kid, user, client, global, epoch] = values;
    if (epoch === null) {
      this.lostHandler?.();
      throw new RevocationStateUnavailable('the denylist is being rebuilt');
    }
    return decide(t, { jti, sid, kid, user, client, global });
  }

  async intact(): Promise<boolean> {
    return (await this.redis.exists(this.epochKey)) === 1;
  }

  async add(entries: DenylistEntry[]): Promise<void> {
    await this.exec(this.queue(this.redis.multi(), entries));
  }

  /** Writes the entries and runs `script` after them in the same MULTI; answers the script's result. */
  async addAndEval(entries: DenylistEntry[], script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const results = await this.exec(this.queue(this.redis.multi(), entries).eval(script, keys.length, ...keys, ...args));
    return results.at(-1)![1];
  }

  async rebuild(entries: DenylistEntry[]): Promise<void> {
    // One MULTI: a flush cannot land between the entries and the epoch that vouches for them.
    await this.exec(this.queue(this.redis.multi(), entries).set(this.epochKey, randomUUID()));
  }

  private queue(pipeline: ChainableCommander, entries: DenylistEntry[]): ChainableCommander {
    for (const e of entries) {
      const ttlMs = Math.max(1000, Math.ceil(e.ttlSeconds * 1000));
      const key = this.key(e.kind, e.subject);
      // A revoked id: created if absent, and its expiry only ever lengthened (PEXPIRE GT, Redis 7).
      if (e.cutoffMs === undefined) pipeline.set(key, '1', 'PX', ttlMs, 'NX').pexpire(key, ttlMs, 'GT');
      else pipeline.eval(SET_MAX, 1, key, String(e.cutoffMs), String(ttlMs));
    }
    return pipeline;
  }

  private async exec(pipeline: ChainableCommander): Promise<[Error | null, unknown][]> {
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw new RevocationStateUnavailable(failed?.[0]?.message ?? 'denylist write was not executed');
    return results;
  }
}
