import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AppConfig } from '../config/config.schema.js';
import { KeyEncryption, loadKeyEncryption } from '../infra/crypto/key-encryption.js';
import { REDIS, type RedisClient } from '../infra/redis/redis.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { AdminOpsController } from './admin-ops.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminWebhooksController } from './admin-webhooks.controller.js';
import { ConsoleAssetsController } from './console/console-assets.controller.js';
import { ConsoleAuthenticator } from './console/console-auth.js';
import { ConsoleIncidentsController } from './console/console-incidents.controller.js';
import { ConsoleOpsController } from './console/console-ops.controller.js';
import { ConsoleWebhooksController } from './console/console-webhooks.controller.js';
import { ConsoleSignInController } from './console/console-sign-in.controller.js';
import { ConsoleSessionStore, MemoryConsoleSessionStore, RedisConsoleSessionStore } from './console/console-session.store.js';
import { ConsoleSessions } from './console/console-sessions.js';
import { ConsoleUsersController } from './console/console-users.controller.js';
import { SqlStaffFactors } from './console/persistence/sql-staff-factors.js';
import { ConsoleView } from './console/staff-actions.js';
import { StaffSecondFactor } from './console/staff-second-factor.js';
import { StaffGuard } from './staff.guard.js';

/** The admin API for security staff and administrators, and the console (/admin) over the same use cases. */
@Module({
  imports: [AuditModule, UsersModule, TokensModule, WebhooksModule],
  controllers: [AdminUsersController, AdminOpsController, AdminWebhooksController, ConsoleAssetsController, ConsoleSignInController, ConsoleUsersController, ConsoleIncidentsController, ConsoleWebhooksController, ConsoleOpsController],
  providers: [
    StaffGuard,
    ConsoleSessions,
    ConsoleAuthenticator,
    ConsoleView,
    SqlStaffFactors,
    StaffSecondFactor,
    { provide: KeyEncryption, inject: [AppConfig], useFactory: loadKeyEncryption },
    {
      provide: ConsoleSessionStore,
      inject: [REDIS, AppConfig],
      useFactory: (redis: RedisClient | null, config: AppConfig) => (redis ? new RedisConsoleSessionStore(redis, config.redisKeyPrefix) : new MemoryConsoleSessionStore()),
    },
  ],
})
export class AdminModule {}
