import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../config/config.schema.js';

type RawRequest = IncomingMessage & { id?: string };

/**
 * JSON logs through pino, one line per request with its request id. Nothing from the headers or
 * the body is logged, and the query string is cut off, so no password, token, cookie or
 * Authorization header can reach a log. Successful requests log at debug: the hot path stays quiet.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          genReqId: (req: RawRequest) => req.id ?? '-',
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
            err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
          serializers: {
            req: (req: RawRequest & { raw?: RawRequest }) => ({
              id: req.id,
              method: req.method,
              path: String(req.url ?? '').split('?')[0],
              remoteAddress: req.raw?.socket?.remoteAddress ?? req.socket?.remoteAddress,
            }),
            res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
          },
          redact: { paths: ['*.password', '*.token', '*.refresh_token', '*.access_token', '*.client_secret', '*.authorization', '*.cookie'], censor: '[redacted]' },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
