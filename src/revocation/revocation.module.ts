import { Global, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/config.schema.js';
import { REDIS } from '../infra/redis/redis.module.js';
import { DenylistStore } from './denylist.store.js';
import { MemoryDenylistStore } from './memory-denylist.store.js';
import { RedisDenylistStore } from './redis-denylist.store.js';
import { RevocationRepository, TypeOrmRevocationRepository } from './revocation.repository.js';
import { RevocationService } from './revocation.service.js';
import { DenylistSync } from './denylist-sync.service.js';
import { RevocationChecker } from './revocation-checker.js';

@Global()
@Module({
  providers: [
    RevocationService,
    DenylistSync,
    RevocationChecker,
    { provide: RevocationRepository, useClass: TypeOrmRevocationRepository },
    {
      provide: DenylistStore,
      inject: [REDIS, AppConfig],
      useFactory: (redis: Redis | null, config: AppConfig) => (redis ? new RedisDenylistStore(redis, config.redisKeyPrefix) : new MemoryDenylistStore()),
    },
  ],
  exports: [RevocationService, DenylistStore, DenylistSync, RevocationChecker],
})
export class RevocationModule {}
