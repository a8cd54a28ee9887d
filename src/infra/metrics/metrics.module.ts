import { createServer, type Server } from 'node:http';
import { Global, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config.schema.js';
import { Metrics } from './metrics.js';

/**
 * `GET /metrics` on its own plain HTTP server, METRICS_HOST:METRICS_PORT (127.0.0.1 by default),
 * never on the public port; nothing listens when METRICS_PORT is unset.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  private readonly logger = new Logger('Metrics');

  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.metrics.enabled) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      this.metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
        (err: Error) => {
          this.logger.error(`metrics scrape failed: ${err.message}`);
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed\n');
        },
      );
    });
    server.keepAliveTimeout = 5000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.metricsPort, this.config.metricsHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    this.server = server;
    this.logger.log(`metrics on http://${this.config.metricsHost}:${this.config.metricsPort}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** SQLSTATE class 23: integrity constraint violations, the expected answers (EMAIL_TAKEN), not failures. */
const INTEGRITY_VIOLATION = /^23/;

interface PgPoolLike {
  on(event: 'error', listener: (err: Error) => void): void;
}
interface DriverLike {
  master?: PgPoolLike;
  obtainMasterConnection?: (...args: unknown[]) => Promise<unknown>;
}

/**
 * Counts PostgreSQL errors where TypeORM lets us see them at no cost on the way of a query that
 * succeeds: the query-error log call (made only for a failed statement), a failed connection
 * checkout (the pool could not connect), and the pg pool's own `error` events (an idle connection
 * lost). Installed only when metrics are on.
 */
@Injectable()
export class PostgresErrorWatch implements OnApplicationBootstrap {
  constructor(
    private readonly metrics: Metrics,
    private readonly dataSource: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.metrics.enabled) return;
    const metrics = this.metrics;
    const logger = this.dataSource.logger;
    const logQueryError = logger.logQueryError.bind(logger);
    logger.logQueryError = (error, ...rest) => {
      const code = (error as { code?: unknown } | undefined)?.code;
      if (!(typeof code === 'string' && INTEGRITY_VIOLATION.test(code))) metrics.postgresError('query');
      return logQueryError(error, ...rest);
    };
    const driver = this.dataSource.driver as unknown as DriverLike;
    driver.master?.on('error', () => metrics.postgresError('pool'));
    const obtain = driver.obtainMasterConnection?.bind(driver);
    if (obtain) {
      driver.obtainMasterConnection = (...args: unknown[]) =>
        obtain(...args).catch((err: unknown) => {
          metrics.postgresError('connect');
          throw err;
        });
    }
  }
}

/** The metrics registry for every module (features report into `Metrics`), and its server. */
@Global()
@Module({
  providers: [Metrics, MetricsServer, PostgresErrorWatch],
  exports: [Metrics],
})
export class MetricsModule {}
