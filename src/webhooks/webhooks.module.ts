import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AppConfig } from '../config/config.schema.js';
import { KeyEncryption, loadKeyEncryption } from '../infra/crypto/key-encryption.js';
import { DeliveryQueue } from './delivery/delivery-queue.js';
import { DeliveryWorker } from './delivery/delivery-worker.js';
import { WebhookSender } from './delivery/webhook-sender.js';
import { DeliveryStore } from './persistence/sql-deliveries.js';
import { SubscriptionStore } from './persistence/sql-subscriptions.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { WebhookRetention } from './webhook-retention.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Revocation webhooks: subscriptions, the outbox a revocation writes its event to, and the worker
 * that delivers them (in this process unless WEBHOOK_WORKER=false; `npm run start:worker` runs it
 * alone). `WebhookOutbox` is for the revocation module; `WebhooksService` for the admin API and CLI.
 */
@Module({
  imports: [AuditModule],
  providers: [
    SubscriptionStore,
    DeliveryStore,
    DeliveryQueue,
    DeliveryWorker,
    WebhookSender,
    WebhookOutbox,
    WebhooksService,
    WebhookRetention,
    { provide: KeyEncryption, inject: [AppConfig], useFactory: loadKeyEncryption },
  ],
  exports: [WebhookOutbox, WebhooksService, WebhookRetention],
})
export class WebhooksModule {}
