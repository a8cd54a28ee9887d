import { Injectable } from '@nestjs/common';
import type { Tx } from '../infra/database/database.js';
import { type RevocationPruneBatch, RevocationRepository } from './revocation.repository.js';

export type { RevocationPruneBatch };

/**
 * The retention job's way into the `revocations` table: it deletes only records past their
 * `honour_until`, which the denylist rebuild and catch-up skip anyway, so nothing in force is lost.
 * The repository and the denylist stay behind the module's door.
 */
@Injectable()
export class RevocationRetention {
  constructor(private readonly repo: RevocationRepository) {}

  /** One batch, in the caller's transaction: see `RevocationRepository.prune`. */
  pruneExpired(tx: Tx, olderThanSeconds: number, afterId: string | null, limit: number): Promise<RevocationPruneBatch> {
    return this.repo.prune(tx, olderThanSeconds, afterId, limit);
  }
}
