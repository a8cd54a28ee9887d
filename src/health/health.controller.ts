import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { Public } from '../auth/public.decorator.js';
import { REDIS } from '../infra/redis/redis.module.js';
import { DenylistStore } from '../revocation/denylist.store.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS) private readonly redis: Redis | null,
    private readonly denylist: DenylistStore,
  ) {}

  /** The process is up. */
  @Public()
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** The database answers, and Redis when it is configured. */
  @Public()
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.database.pingCheck('database', { timeout: 1000 }), () => this.redisCheck()]);
  }

  /** Redis answers, and the denylist in it is complete (not lost and being rebuilt). */
  private async redisCheck() {
    const check = this.indicators.check('redis');
    if (!this.redis) return check.up({ store: 'in-process' });
    try {
      if (!(await this.denylist.intact())) return check.down({ message: 'the revocation denylist is being rebuilt' });
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
