import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../config/config.schema.js';

/**
 * JSON logs through pino. Nest's own logs go through nestjs-pino; request logs are written by a
 * Fastify hook (see request-log.ts) rather than a per-request middleware, which cost a third of the
 * throughput of the cheapest route. Nothing from the headers, body or query string is logged.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // No per-request middleware: an empty route list applies it nowhere.
        forRoutes: [],
        pinoHttp: {
          level: config.logLevel,
          redact: { paths: ['*.password', '*.token', '*.refresh_token', '*.access_token', '*.client_secret', '*.authorization', '*.cookie'], censor: '[redacted]' },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
