import { Global, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AppConfig } from '../config/config.schema.js';
import { Metrics } from '../infra/metrics/metrics.js';
import { REDIS, type RedisClient } from '../infra/redis/redis.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { DenylistStore } from './denylist.store.js';
import { logoutTokenSignerProvider } from './logout-token-signing.js';
import { LogoutTokenSigner } from '../webhooks/logout-token-signer.js';
import { DenylistSync } from './denylist-sync.service.js';
import { MemoryDenylistStore } from './memory-denylist.store.js';
import { MirrorDenylistStore } from './mirror/mirror-denylist.store.js';
import { SqlRevocationRepository } from './persistence/sql-revocation.repository.js';
import { RedisDenylistStore } from './redis-denylist.store.js';
import { RevocationChecker } from './revocation-checker.js';
import { RevocationRetention } from './revocation-retention.js';
import { RevocationRepository } from './revocation.repository.js';
import { RevocationService } from './revocation.service.js';

/**
 * The revocation door. Only `RevocationService` (to revoke) and `RevocationChecker` (to ask) leave
 * this module: the denylist and its sync are reachable through them alone. `RevocationRetention`
 * (the retention job's) deletes only records no longer in force. `LogoutTokenSigner` is the webhook
 * worker's, for back-channel logout tokens.
 */
@Global()
@Module({
  imports: [AuditModule, UsersModule, TokensModule, WebhooksModule],
  providers: [
    RevocationService,
    DenylistSync,
    RevocationChecker,
    RevocationRetention,
    logoutTokenSignerProvider,
    { provide: RevocationRepository, useClass: SqlRevocationRepository },
    {
      provide: DenylistStore,
      inject: [REDIS, AppConfig, RevocationRepository, { token: Metrics, optional: true }],
      useFactory: (redis: RedisClient | null, config: AppConfig, repo: RevocationRepository, metrics?: Metrics) => {
        if (!redis) return new MemoryDenylistStore();
        const keys = new RedisDenylistStore(redis, config.redisKeyPrefix);
        if (config.revocationCheck === 'redis') return keys;
        const lease = config.revocationLeaseMs;
        const mirror = new MirrorDenylistStore(redis, keys, config.redisKeyPrefix, { leaseMs: lease, marginMs: Math.round(lease * 0.3), blockMs: Math.max(20, Math.round(lease / 10)), ackTimeoutMs: config.revocationAckTimeoutMs }, async () =>
          (await repo.inForce(new Date())).map((r) => ({ kind: r.kind, subject: r.subject, cutoffMs: r.cutoffMs, untilMs: r.honourUntil.getTime() })),
        );
        metrics?.watchMirror({ entries: () => mirror.entries, accepting: () => mirror.accepting() });
        return mirror;
      },
    },
  ],
  exports: [RevocationService, RevocationChecker, RevocationRetention, LogoutTokenSigner],
})
export class RevocationModule {}
