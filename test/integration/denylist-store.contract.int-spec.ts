import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { type DenylistEntry, DenylistStore, type TokenRef } from '../../src/revocation/denylist.store.js';
import { RevocationStateUnavailable } from '../../src/revocation/revocation.errors.js';
import { MemoryDenylistStore } from '../../src/revocation/memory-denylist.store.js';
import { RedisDenylistStore } from '../../src/revocation/redis-denylist.store.js';
import { withRealRedis } from '../support/real-redis.js';
import { redisTarget, TcpProxy } from '../support/tcp-proxy.js';
import { deleteRedisKeys, freePort, testRedisPrefix } from '../support/isolation.js';

/**
 * The DenylistStore port's contract: the same cases for every adapter. Each adapter supplies a
 * factory for a store of its own; where an adapter cannot show a case (process memory never loses
 * its data and has nothing to be unreachable), it says so with a case for what it does instead.
 */

interface DenylistAdapter {
  /** A new store of its own (no other store's data), as it is before its first rebuild. */
  make(): Promise<DenylistStore>;
  /** Makes `store` lose its data the way its backend can (Redis flushed, restarted empty, failed over); null: it cannot. */
  lose: ((store: DenylistStore) => Promise<void>) | null;
  /** Stores whose backend cannot be reached, and how; empty: the adapter has no backend. */
  unreachable: { how: string; make(): Promise<DenylistStore> }[];
}

const WAIT_PAST_TTL_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A token of its own: every id fresh, so no other case's entry can apply to it. */
const tokenRef = (over: Partial<TokenRef> = {}): TokenRef => ({
  jti: randomUUID(),
  sid: randomUUID(),
  sub: randomUUID(),
  clientId: `client-${randomUUID()}`,
  kid: `kid-${randomUUID()}`,
  iatMs: Date.now(),
  ...over,
});

const LONG_TTL = 600;

function denylistStoreContract(adapter: DenylistAdapter): void {
  const contractCase = (name: string, fn: () => Promise<void>) => it(name, fn);

  /** A store ready for checks, as DenylistSync leaves it at start-up: rebuilt (here from nothing). */
  const ready = async () => {
    const store = await adapter.make();
    await store.rebuild([]);
    return store;
  };

  contractCase('a rebuilt store with no entries refuses no token', async () => {
    const store = await ready();
    expect(await store.check(tokenRef())).toBeNull();
    expect(await store.check(tokenRef({ sid: undefined }))).toBeNull();
  });

  describe.each([
    { kind: 'jti', field: 'jti' },
    { kind: 'sid', field: 'sid' },
    { kind: 'kid', field: 'kid' },
  ] as const)('a $kind entry', ({ kind, field }) => {
    contractCase(`refuses every token with that ${field}, whenever issued, and no other`, async () => {
      const store = await ready();
      const token = tokenRef();
      await store.add([{ kind, subject: token[field]!, ttlSeconds: LONG_TTL }]);
      expect(await store.check(token)).toBe(kind);
      // An id entry has no cutoff: a token with that id issued an hour later is refused too.
      expect(await store.check({ ...token, iatMs: token.iatMs + 3_600_000 })).toBe(kind);
      // The same token with only this id changed is not.
      expect(await store.check({ ...token, [field]: randomUUID() })).toBeNull();
      if (field === 'sid') expect(await store.check({ ...token, sid: undefined })).toBeNull();
    });
  });

  describe.each([
    { kind: 'user', field: 'sub' },
    { kind: 'client', field: 'clientId' },
    { kind: 'global', field: null },
  ] as const)('a $kind cutoff', ({ kind, field }) => {
    contractCase('refuses tokens issued at or before it and accepts tokens issued after it', async () => {
      const store = await ready();
      const cutoffMs = Date.now();
      const token = tokenRef();
      await store.add([{ kind, subject: field ? token[field] : '', cutoffMs, ttlSeconds: LONG_TTL }]);
      expect(await store.check({ ...token, iatMs: cutoffMs - 60_000 })).toBe(kind);
      expect(await store.check({ ...token, iatMs: cutoffMs - 1 })).toBe(kind);
      expect(await store.check({ ...token, iatMs: cutoffMs })).toBe(kind);
      expect(await store.check({ ...token, iatMs: cutoffMs + 1 })).toBeNull();
      expect(await store.check({ ...token, iatMs: cutoffMs + 60_000 })).toBeNull();
    });

    if (field) {
      contractCase(`applies to that ${field} only`, async () => {
        const store = await ready();
        const cutoffMs = Date.now();
        const token = tokenRef({ iatMs: cutoffMs - 1 });
        await store.add([{ kind, subject: token[field], cutoffMs, ttlSeconds: LONG_TTL }]);
        expect(await store.check(token)).toBe(kind);
        expect(await store.check({ ...token, [field]: `other-${randomUUID()}` })).toBeNull();
      });
    } else {
      contractCase('applies to every token, whatever its ids', async () => {
        const store = await ready();
        const cutoffMs = Date.now();
        await store.add([{ kind, subject: '', cutoffMs, ttlSeconds: LONG_TTL }]);
        for (let i = 0; i < 3; i++) expect(await store.check(tokenRef({ iatMs: cutoffMs }))).toBe('global');
        expect(await store.check(tokenRef({ iatMs: cutoffMs, sid: undefined }))).toBe('global');
      });
    }
  });

  contractCase('names the first reason that applies, in the order jti, sid, kid, user, client, global', async () => {
    const store = await ready();
    const cutoffMs = Date.now();
    const token = tokenRef({ iatMs: cutoffMs });
    const order = [
      { kind: 'jti', subject: token.jti },
      { kind: 'sid', subject: token.sid! },
      { kind: 'kid', subject: token.kid },
      { kind: 'user', subject: token.sub, cutoffMs },
      { kind: 'client', subject: token.clientId, cutoffMs },
      { kind: 'global', subject: '', cutoffMs },
    ] as const;
    // Added last reason first: after each add, the newly added (earlier) reason is the one named.
    for (const entry of [...order].reverse()) {
      await store.add([{ ...entry, ttlSeconds: LONG_TTL }]);
      expect(await store.check(token)).toBe(entry.kind);
    }
  });

  contractCase('keeps the later cutoff: an add with an earlier cutoff does not lower it, a later one raises it', async () => {
    const store = await ready();
    const base = Date.now();
    const token = tokenRef();
    const user = (cutoffMs: number): DenylistEntry => ({ kind: 'user', subject: token.sub, cutoffMs, ttlSeconds: LONG_TTL });
    await store.add([user(base)]);
    await store.add([user(base - 10_000)]);
    expect(await store.check({ ...token, iatMs: base - 5_000 })).toBe('user');
    expect(await store.check({ ...token, iatMs: base })).toBe('user');
    expect(await store.check({ ...token, iatMs: base + 1 })).toBeNull();
    // Within one add, too, in either order.
    await store.add([user(base + 10_000), user(base + 5_000)]);
    expect(await store.check({ ...token, iatMs: base + 10_000 })).toBe('user');
    expect(await store.check({ ...token, iatMs: base + 10_001 })).toBeNull();
    // And for the global cutoff.
    await store.add([{ kind: 'global', subject: '', cutoffMs: base, ttlSeconds: LONG_TTL }]);
    await store.add([{ kind: 'global', subject: '', cutoffMs: base - 10_000, ttlSeconds: LONG_TTL }]);
    expect(await store.check(tokenRef({ iatMs: base - 5_000 }))).toBe('global');
  });

  contractCase('an entry stops applying once its ttl has passed; an expired cutoff no longer counts in the max', async () => {
    const store = await ready();
    const cutoffMs = Date.now();
    const short = tokenRef({ iatMs: cutoffMs - 1 });
    const kept = tokenRef({ iatMs: cutoffMs - 1 });
    await store.add([
      { kind: 'jti', subject: short.jti, ttlSeconds: 1 },
      { kind: 'sid', subject: short.sid!, ttlSeconds: 1 },
      { kind: 'kid', subject: short.kid, ttlSeconds: 1 },
      { kind: 'user', subject: short.sub, cutoffMs, ttlSeconds: 1 },
      { kind: 'client', subject: short.clientId, cutoffMs, ttlSeconds: 1 },
      { kind: 'global', subject: '', cutoffMs, ttlSeconds: 1 },
      { kind: 'jti', subject: kept.jti, ttlSeconds: LONG_TTL },
    ]);
    expect(await store.check(short)).toBe('jti');
    expect(await store.check({ ...short, jti: randomUUID() })).toBe('sid');
    expect(await store.check(tokenRef({ iatMs: cutoffMs - 1 }))).toBe('global');
    await sleep(WAIT_PAST_TTL_MS);
    // Before any check reads the expired user cutoff: it is gone, not merged with, so a new, earlier one applies as given.
    await store.add([{ kind: 'user', subject: short.sub, cutoffMs: cutoffMs - 1_000, ttlSeconds: LONG_TTL }]);
    const sameUser = { ...tokenRef(), sub: short.sub };
    expect(await store.check({ ...sameUser, iatMs: cutoffMs - 1 })).toBeNull();
    expect(await store.check({ ...sameUser, iatMs: cutoffMs - 1_000 })).toBe('user');
    // Every short-lived entry has stopped applying; the long-lived one has not.
    expect(await store.check(short)).toBeNull();
    expect(await store.check(tokenRef({ iatMs: cutoffMs - 1 }))).toBeNull();
    expect(await store.check(kept)).toBe('jti');
  });

  contractCase('a later cutoff with a shorter ttl does not end the earlier cutoff sooner (the longer expiry is kept)', async () => {
    const store = await ready();
    const base = Date.now();
    const token = tokenRef();
    await store.add([{ kind: 'user', subject: token.sub, cutoffMs: base, ttlSeconds: LONG_TTL }]);
    await store.add([{ kind: 'user', subject: token.sub, cutoffMs: base + 10_000, ttlSeconds: 1 }]);
    expect(await store.check({ ...token, iatMs: base + 10_000 })).toBe('user');
    await sleep(WAIT_PAST_TTL_MS);
    // A token issued before the first cutoff may live for LONG_TTL: it must still be refused.
    expect(await store.check({ ...token, iatMs: base - 1 })).toBe('user');
  });

  contractCase('a revoked id added again with a shorter ttl stays revoked for the longer one', async () => {
    const store = await ready();
    const token = tokenRef();
    await store.add([{ kind: 'jti', subject: token.jti, ttlSeconds: LONG_TTL }]);
    await store.add([{ kind: 'jti', subject: token.jti, ttlSeconds: 1 }]);
    await sleep(WAIT_PAST_TTL_MS);
    expect(await store.check(token)).toBe('jti');
  });

  contractCase('rebuild writes every entry given and leaves the store intact', async () => {
    const store = await adapter.make();
    const cutoffMs = Date.now();
    const token = tokenRef({ iatMs: cutoffMs });
    await store.rebuild([
      { kind: 'jti', subject: token.jti, ttlSeconds: LONG_TTL },
      { kind: 'sid', subject: token.sid!, ttlSeconds: LONG_TTL },
      { kind: 'kid', subject: token.kid, ttlSeconds: LONG_TTL },
      { kind: 'user', subject: token.sub, cutoffMs, ttlSeconds: LONG_TTL },
      { kind: 'client', subject: token.clientId, cutoffMs, ttlSeconds: LONG_TTL },
    ]);
    expect(await store.intact()).toBe(true);
    expect(await store.check(token)).toBe('jti');
    expect(await store.check({ ...token, jti: randomUUID() })).toBe('sid');
    expect(await store.check({ ...token, jti: randomUUID(), sid: undefined })).toBe('kid');
    expect(await store.check({ ...token, jti: randomUUID(), sid: undefined, kid: 'other' })).toBe('user');
    expect(await store.check({ ...token, jti: randomUUID(), sid: undefined, kid: 'other', sub: 'other' })).toBe('client');
    expect(await store.check({ ...token, iatMs: cutoffMs + 1, jti: randomUUID(), sid: undefined, kid: 'other' })).toBeNull();
    expect(await store.check(tokenRef())).toBeNull();
  });

  const { lose } = adapter;
  if (lose) {
    contractCase('before its first rebuild it is not intact, and check() fails closed', async () => {
      const store = await adapter.make();
      let lost = 0;
      store.onLost(() => lost++);
      expect(await store.intact()).toBe(false);
      await expect(store.check(tokenRef())).rejects.toThrow(RevocationStateUnavailable);
      expect(lost).toBe(1);
      await store.rebuild([]);
      expect(await store.intact()).toBe(true);
      expect(await store.check(tokenRef())).toBeNull();
    });

    contractCase('after losing its data: intact() is false, check() throws RevocationStateUnavailable and calls onLost once, until a rebuild', async () => {
      const store = await ready();
      const token = tokenRef();
      await store.add([{ kind: 'jti', subject: token.jti, ttlSeconds: LONG_TTL }]);
      let lost = 0;
      store.onLost(() => lost++);
      expect(await store.check(token)).toBe('jti');
      expect(lost).toBe(0);

      await lose(store);
      expect(await store.intact()).toBe(false);
      const checked = store.check(token);
      await expect(checked).rejects.toThrow(RevocationStateUnavailable);
      expect(lost).toBe(1);

      await store.rebuild([{ kind: 'jti', subject: token.jti, ttlSeconds: LONG_TTL }]);
      expect(await store.intact()).toBe(true);
      expect(await store.check(token)).toBe('jti');
      expect(await store.check(tokenRef())).toBeNull();
      expect(lost).toBe(1);
    });
  } else {
    contractCase('cannot lose its data (process memory; a restart rebuilds at start-up): intact() is always true and onLost is never called', async () => {
      const store = await adapter.make();
      let lost = 0;
      store.onLost(() => lost++);
      expect(await store.intact()).toBe(true);
      expect(await store.check(tokenRef())).toBeNull();
      const token = tokenRef();
      await store.add([{ kind: 'jti', subject: token.jti, ttlSeconds: 1 }]);
      expect(await store.intact()).toBe(true);
      expect(await store.check(token)).toBe('jti');
      await store.rebuild([]);
      expect(await store.intact()).toBe(true);
      await sleep(WAIT_PAST_TTL_MS);
      // Entries expiring is not a loss.
      expect(await store.intact()).toBe(true);
      expect(await store.check(token)).toBeNull();
      expect(lost).toBe(0);
    });
  }

  if (adapter.unreachable.length) {
    describe.each(adapter.unreachable)('unreachable ($how)', ({ make }) => {
      contractCase('check() throws RevocationStateUnavailable, and add() and rebuild() reject', async () => {
        const store = await make();
        const token = tokenRef();
        await expect(store.check(token)).rejects.toThrow(RevocationStateUnavailable);
        await expect(store.add([{ kind: 'jti', subject: token.jti, ttlSeconds: LONG_TTL }])).rejects.toThrow();
        await expect(store.rebuild([])).rejects.toThrow();
      });
    });
  } else {
    contractCase('has no backend to be unreachable (process memory): check(), add() and rebuild() answer', async () => {
      const store = await adapter.make();
      const token = tokenRef();
      await expect(store.add([{ kind: 'jti', subject: token.jti, ttlSeconds: LONG_TTL }])).resolves.toBeUndefined();
      await expect(store.rebuild([])).resolves.toBeUndefined();
      await expect(store.check(token)).resolves.toBe('jti');
    });
  }
}

describe('DenylistStore contract: MemoryDenylistStore', () => {
  denylistStoreContract({
    make: async () => new MemoryDenylistStore(),
    lose: null,
    unreachable: [],
  });
});

withRealRedis('DenylistStore contract: RedisDenylistStore', () => {
  /**
   * Like the app's client (src/infra/redis): no offline queue, so an unreachable Redis fails at once.
   * A short disconnectTimeout: ioredis leaves its 2 s disconnect timer running for a socket that had
   * already closed (a refused or cut connection), which keeps the jest worker from exiting.
   */
  const clientOptions: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000, disconnectTimeout: 50 };
  const clients: Redis[] = [];
  const proxies: TcpProxy[] = [];
  const prefixes = new Map<DenylistStore, string>();
  let redis: Redis;

  const connect = async (url: string): Promise<Redis> => {
    const client = new Redis(url, { ...clientOptions, retryStrategy: (times) => Math.min(times * 100, 1000) });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const ready = (client: Redis) =>
    new Promise<void>((resolve, reject) => {
      if (client.status === 'ready') return resolve();
      client.once('ready', () => resolve());
      setTimeout(() => reject(new Error(`Redis not ready: ${client.status}`)), 5000).unref();
    });

  beforeAll(async () => {
    redis = await connect(process.env.REDIS_URL!);
    await ready(redis);
  });
  afterAll(async () => {
    for (const prefix of prefixes.values()) await deleteRedisKeys(prefix);
    for (const client of clients) client.disconnect();
    for (const proxy of proxies) await proxy.cut();
  });

  const own = (client: Redis) => {
    const prefix = testRedisPrefix();
    const store = new RedisDenylistStore(client, prefix);
    prefixes.set(store, prefix);
    return store;
  };

  denylistStoreContract({
    make: async () => own(redis),
    // Deletes this store's own keys (the entries and the epoch): what a FLUSHALL, a restart without
    // persistence or a failover to an empty replica does to it, without touching anything else.
    lose: async (store) => deleteRedisKeys(prefixes.get(store)!),
    unreachable: [
      {
        how: 'a closed loopback port',
        make: async () => own(await connect(`redis://127.0.0.1:${await freePort()}`)),
      },
      {
        how: 'reachable and rebuilt, then gone (the proxy in front of it cut)',
        make: async () => {
          const target = redisTarget();
          const proxy = new TcpProxy(target.host, target.port);
          proxies.push(proxy);
          const client = await connect(`redis://127.0.0.1:${await proxy.start()}`);
          await ready(client);
          const store = own(client);
          await store.rebuild([]);
          expect(await store.check(tokenRef())).toBeNull();
          await proxy.cut();
          return store;
        },
      },
    ],
  });
});
