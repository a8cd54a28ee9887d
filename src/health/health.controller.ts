import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../infra/http/credential.decorator.js';
import { RevocationChecker } from '../revocation/revocation-checker.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';

@Controller('health')
@ApiSurface()
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly revocations: RevocationChecker,
  ) {}

  /** The process is up. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** The database answers, and Redis when it is configured. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.database.pingCheck('database', { timeout: 1000 }), () => this.redisCheck()]);
  }

  /** Redis answers, and the denylist in it is complete (not lost and being rebuilt). */
  private async redisCheck() {
    const check = this.indicators.check('redis');
    if (this.revocations.storeKind === 'in-process') return check.up({ store: 'in-process' });
    try {
      if (!(await this.revocations.intact())) return check.down({ message: 'the revocation denylist is being rebuilt' });
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
