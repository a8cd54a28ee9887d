import { Module } from '@nestjs/common';
import { TokensModule } from '../tokens/tokens.module.js';
import { UsersModule } from '../users/users.module.js';
import { AdminOpsController } from './admin-ops.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AuditLogRepository, TypeOrmAuditLogRepository } from './audit/audit-log.repository.js';
import { StaffGuard } from './staff.guard.js';

/** The admin API for security staff and administrators, and the audit log. */
@Module({
  imports: [UsersModule, TokensModule],
  controllers: [AdminUsersController, AdminOpsController],
  providers: [StaffGuard, { provide: AuditLogRepository, useClass: TypeOrmAuditLogRepository }],
})
export class AdminModule {}
