import { Module } from '@nestjs/common';
import { SessionRetentionRepository } from '../tokens/sessions/session-retention.repository.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { RetentionService } from './retention.service.js';

/**
 * The retention job. `RevocationRetention` comes from the (global) revocation module; the sessions'
 * prune statements are the tokens module's own persistence, provided here for this job alone.
 */
@Module({
  imports: [WebhooksModule],
  providers: [RetentionService, SessionRetentionRepository],
  exports: [RetentionService],
})
export class RetentionModule {}
