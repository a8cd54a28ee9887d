import { Module } from '@nestjs/common';
import { AuditLog } from './audit-log.js';
import { SqlAuditLog } from './persistence/sql-audit-log.js';

/** The audit log: one writer, and the reads of the admin API. */
@Module({
  providers: [{ provide: AuditLog, useClass: SqlAuditLog }],
  exports: [AuditLog],
})
export class AuditModule {}
