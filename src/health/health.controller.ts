import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../infra/http/credential.decorator.js';
import { ApiErrors, COMMON_API_ERRORS } from '../infra/http/openapi.js';
import { RevocationChecker } from '../revocation/revocation-checker.js';
import { ApiSurface } from '../infra/errors/problem-details.filter.js';

const CHECKS = {
  type: 'object',
  additionalProperties: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['up', 'down'] }, message: { type: 'string' } }, additionalProperties: true },
  example: { database: { status: 'up' }, redis: { status: 'up' } },
};

/** Terminus's answer when every check is up. */
const READY = {
  type: 'object',
  required: ['status', 'info', 'error', 'details'],
  properties: { status: { type: 'string', enum: ['ok'] }, info: CHECKS, error: CHECKS, details: CHECKS },
};

@ApiTags('health')
@ApiSecurity({})
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
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ description: 'Up.', schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } })
  @ApiErrors(...COMMON_API_ERRORS)
  live() {
    return { status: 'ok' };
  }

  /** The database answers, and Redis when it is configured. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers, and Redis when configured with a complete denylist' })
  @ApiOkResponse({ description: 'Ready: every check is up.', schema: READY })
  @ApiErrors(...COMMON_API_ERRORS)
  // The same Cache-Control as the default; terminus's own swagger schema is left out (it is added only when
  // terminus can require() @nestjs/swagger, and a failing check is answered as problem+json here).
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  ready() {
    return this.health.check([() => this.database.pingCheck('database', { timeout: 1000 }), () => this.redisCheck()]);
  }

  /** Redis answers, and the denylist in it is complete (not lost and being rebuilt). */
  private async redisCheck() {
    const check = this.indicators.check('redis');
    if (this.revocations.storeKind === 'in-process') return check.up({ store: 'in-process' });
    try {
      if (!(await this.revocations.intact())) return check.down({ message: 'the revocation denylist is being rebuilt' });
      if (!this.revocations.accepting()) return check.down({ message: 'this instance is not in step with the revocation feed' });
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
