import { Global, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { AppConfig } from '../../config/config.schema.js';
import { Metrics } from '../metrics/metrics.js';

/** The shared Redis client, or null on the embedded default (no REDIS_URL). */
export const REDIS = Symbol('REDIS');

/** A single Redis server or a Redis Cluster: every key Latchkey uses carries one hash tag, so both take the same commands. */
export type RedisClient = Redis | Cluster;

/**
 * `redis-cluster://[user:password@]host:port[?seed=host:port&seed=...]` (or `rediss-cluster://` for
 * TLS) names a Redis Cluster by one or more of its nodes; the client discovers the others.
 */
export function clusterSeeds(url: string): { nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean } | null {
  const u = new URL(url);
  if (u.protocol !== 'redis-cluster:' && u.protocol !== 'rediss-cluster:') return null;
  const node = (hostPort: string) => {
    const i = hostPort.lastIndexOf(':');
    return { host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(i + 1)) };
  };
  return {
    nodes: [u.host, ...u.searchParams.getAll('seed')].map(node),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss-cluster:',
  };
}

/** A second connection with the same settings (for blocking reads), failing fast like the first. */
export function duplicateRedis(redis: RedisClient, o: { commandTimeout: number }): RedisClient {
  if (redis instanceof Cluster) return redis.duplicate([], { enableAutoPipelining: false, redisOptions: { ...redis.options.redisOptions, commandTimeout: o.commandTimeout } });
  return redis.duplicate({ commandTimeout: o.commandTimeout, enableAutoPipelining: false });
}

/** Resolves once the client is ready, or after `ms` (its commands fail fast meanwhile). */
export function whenConnected(redis: RedisClient, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (redis.status === 'ready') return resolve();
    const timer = setTimeout(resolve, ms);
    timer.unref();
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Fail closed and never hang: every command carries a timeout, and with the offline queue off a
 * command sent while Redis is unreachable fails at once instead of waiting for a reconnect.
 */
export function createRedis(config: AppConfig): RedisClient {
  const options = {
    commandTimeout: config.redisCommandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
    lazyConnect: false,
  };
  const cluster = clusterSeeds(config.redisUrl!);
  if (cluster) {
    const { enableOfflineQueue, retryStrategy, lazyConnect, ...nodeOptions } = options;
    return new Cluster(cluster.nodes, {
      // The cluster's own queue (commands sent while the whole cluster is connecting) has no
      // timeout: it is off, so such a command fails at once, as on a single server. The nodes keep
      // theirs (a command sent to a node fails after commandTimeout), connect lazily and are
      // replaced by the cluster client when lost: a node connecting on its own would refuse the
      // cluster's ready check while the cluster's queue is off.
      redisOptions: { ...nodeOptions, username: cluster.username, password: cluster.password, ...(cluster.tls ? { tls: {} } : {}) },
      enableOfflineQueue,
      clusterRetryStrategy: (times: number) => Math.min(times * 100, 2000),
      enableAutoPipelining: true,
      ...(config.redisClusterNatMap ? { natMap: config.redisClusterNatMap } : {}),
    });
  }
  // Commands issued in the same tick share one write: under load, one syscall for many checks.
  return new Redis(config.redisUrl!, { ...options, enableAutoPipelining: true });
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig, { token: Metrics, optional: true }],
      useFactory: async (config: AppConfig, metrics?: Metrics): Promise<RedisClient | null> => {
        const logger = new Logger('Redis');
        if (!config.redisUrl) {
          logger.warn('REDIS_URL is unset: revocation store is in-process (correct for a single instance only)');
          return null;
        }
        const redis = createRedis(config);
        redis.on('error', (err) => {
          metrics?.redisError();
          logger.warn(`redis: ${err.message}`);
        });
        await whenConnected(redis, 3000);
        logger.log(`revocation store: Redis (${redis.status === 'ready' ? 'connected' : 'not reachable yet'})`);
        return redis;
      },
    },
    {
      provide: 'REDIS_CLOSER',
      inject: [REDIS],
      useFactory: (redis: RedisClient | null): OnApplicationShutdown => ({
        onApplicationShutdown: async () => {
          if (redis) redis.disconnect();
        },
      }),
    },
  ],
  exports: [REDIS],
})
export class RedisModule {}

