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

/**
 * The cluster client's own queue (commands sent while the whole cluster is reconnecting) has no
 * timeout: a command queued there would wait for the end of an outage. It is needed only while the
 * client first connects (ioredis 6 then fails to connect at all if a command is refused meanwhile),
 * so it is turned off at the first `ready`: from then on, such a command fails at once.
 */
function failFastOnceReady(cluster: Cluster): Cluster {
  cluster.once('ready', () => {
    cluster.options.enableOfflineQueue = false;
  });
  return cluster;
}

/** A second connection with the same settings (for blocking reads), failing fast like the first. */
export function duplicateRedis(redis: RedisClient, o: { commandTimeout: number }): RedisClient {
  if (redis instanceof Cluster) return failFastOnceReady(redis.duplicate([], { enableOfflineQueue: true, enableAutoPipelining: false, redisOptions: { ...redis.options.redisOptions, commandTimeout: o.commandTimeout } }));
  return redis.duplicate({ commandTimeout: o.commandTimeout, enableAutoPipelining: false });
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
    // The cluster client connects its nodes lazily and replaces a lost one itself: a node connecting
    // on its own would refuse the cluster's ready check while the cluster's queue is off.
    const { enableOfflineQueue, retryStrategy, lazyConnect, ...nodeOptions } = options;
    return failFastOnceReady(
      new Cluster(cluster.nodes, {
        // The node connections keep their offline queue: the cluster client learns (and, after an
        // outage, relearns) the topology through them while they connect; a command sent to a node
        // still fails after commandTimeout.
        redisOptions: { ...nodeOptions, username: cluster.username, password: cluster.password, ...(cluster.tls ? { tls: {} } : {}) },
        enableOfflineQueue: true, // until the first ready: see failFastOnceReady
        clusterRetryStrategy: (times: number) => Math.min(times * 100, 2000),
        enableAutoPipelining: true,
        ...(config.redisClusterNatMap ? { natMap: config.redisClusterNatMap } : {}),
      }),
    );
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
        await new Promise<void>((resolve) => {
          if (redis.status === 'ready') return resolve();
          redis.once('ready', () => resolve());
          setTimeout(resolve, 3000).unref();
        });
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

