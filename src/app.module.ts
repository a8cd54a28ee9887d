import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { AppConfig } from './config/config.schema.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { DatabaseModule } from './infra/database/database.module.js';
import { ProblemDetailsFilter } from './infra/errors/problem-details.filter.js';
import { InputGuard } from './infra/http/input.guard.js';
import { LoggingModule } from './infra/logging/logging.module.js';
import { MetricsModule } from './infra/metrics/metrics.module.js';
import { RedisModule } from './infra/redis/redis.module.js';
import { UsersModule } from './users/users.module.js';
import { AuthModule } from './auth/auth.module.js';
import { AdminModule } from './admin/admin.module.js';
import { RevocationModule } from './revocation/revocation.module.js';
import { OAuthModule } from './oauth/oauth.module.js';
import { AuditModule } from './audit/audit.module.js';
import { RetentionModule } from './retention/retention.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  /** Where PostgreSQL answers: DATABASE_URL, or the embedded server that main started. */
  databaseUrl: string;
}

@Module({})
export class AppModule {
  static forRoot({ config, databaseUrl }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), LoggingModule, MetricsModule, DatabaseModule.forRoot(databaseUrl), RedisModule, AuditModule, UsersModule, RevocationModule, AuthModule, OAuthModule, AdminModule, HealthModule, RetentionModule],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        // Bad input is refused before the authentication guard reads anything.
        { provide: APP_GUARD, useClass: InputGuard },
      ],
    };
  }
}
