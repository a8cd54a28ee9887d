import { Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig } from '../config/config.schema.js';
import { Metrics } from '../infra/metrics/metrics.js';
import { RevocationStateUnavailable } from './revocation.errors.js';
import { DenylistStore, type RevokedBy, type TokenRef } from './denylist.store.js';
import { DenylistSync } from './denylist-sync.service.js';

/**
 * The revocation check every protected request makes: one denylist round trip, failing closed.
 * After this instance has seen the store fail, it accepts nothing until it has caught up with the
 * revocations PostgreSQL recorded meanwhile (a revocation whose denylist write failed included).
 */
@Injectable()
export class RevocationChecker {
  constructor(
    private readonly store: DenylistStore,
    private readonly sync: DenylistSync,
    config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.skip = config.benchSkipRevocationCheck;
    if (this.skip) new Logger('Revocation').warn('BENCH_SKIP_REVOCATION_CHECK is on: revoked tokens are ACCEPTED (benchmark setting)');
  }

  private readonly skip: boolean;

  /** Where the denylist lives, for the start-up log and health. */
  get storeKind(): DenylistStore['kind'] {
    return this.store.kind;
  }

  /** False while the denylist is lost and being rebuilt (health says not ready). */
  intact(): Promise<boolean> {
    return this.store.intact();
  }

  /** False while this instance's mirror is out of step with the feed (health says not ready). */
  accepting(): boolean {
    return this.store.accepting();
  }

  async check(token: TokenRef): Promise<RevokedBy | null> {
    if (this.skip) return null;
    if (this.sync.behind) {
      await this.sync.catchUp().catch(() => undefined);
      if (this.sync.behind) {
        this.metrics?.revocationCheckFailedClosed();
        throw new RevocationStateUnavailable('catching up with PostgreSQL');
      }
    }
    let revokedBy: RevokedBy | null;
    try {
      revokedBy = await this.store.check(token);
    } catch (err) {
      // The mirror catches up by itself (it joins the feed again); the Redis store needs the poll's catch-up.
      if (err instanceof RevocationStateUnavailable && this.store.kind !== 'redis-mirror') this.sync.markDirty();
      this.metrics?.revocationCheckFailedClosed();
      throw err;
    }
    if (revokedBy === null) this.metrics?.revocationCheckAccepted();
    else this.metrics?.revocationCheckRefused(revokedBy);
    return revokedBy;
  }
}
