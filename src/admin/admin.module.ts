import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { AdminOpsController } from './admin-ops.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminWebhooksController } from './admin-webhooks.controller.js';
import { StaffGuard } from './staff.guard.js';

/** The admin API for security staff and administrators. */
@Module({
  imports: [AuditModule, UsersModule, TokensModule, WebhooksModule],
  controllers: [AdminUsersController, AdminOpsController, AdminWebhooksController],
  providers: [StaffGuard],
})
export class AdminModule {}
