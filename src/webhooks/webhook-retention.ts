import { Injectable } from '@nestjs/common';
import type { Tx } from '../infra/database/database.js';
import { DeliveryStore } from './persistence/sql-deliveries.js';

/** One batch of a prune: rows looked at, rows deleted, the greatest id looked at (null: none). */
export interface WebhookPruneBatch {
  picked: number;
  deleted: number;
  last: string | null;
}

/**
 * The retention job's way into the webhook tables: an event goes, with its deliveries and their
 * attempts, once it is older than the grace and none of its deliveries is still on its way (a
 * failed one is kept that long for the console and a redelivery).
 */
@Injectable()
export class WebhookRetention {
  constructor(private readonly store: DeliveryStore) {}

  pruneEvents(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<WebhookPruneBatch> {
    return this.store.prune(tx, olderThanSeconds, afterId, limit);
  }
}
