import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { applyConsoleHeaders } from './admin/console/console-headers.js';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { serveApiDocs } from './infra/http/api-docs.js';
import { jsonBodyParser } from './infra/http/json-body.js';
import { genRequestId } from './infra/http/request-id.js';
import { applyResponsePolicy } from './infra/http/response-policy.js';
import { HELMET_OPTIONS } from './infra/http/security-headers.js';
import { serverOptions } from './infra/http/server-options.js';
import { logRequests } from './infra/logging/request-log.js';
import { Metrics } from './infra/metrics/metrics.js';
import { applyClientCors } from './oauth/cors.js';
import { ClientsService } from './tokens/clients/clients.service.js';

/** Bodies past this size are refused with 413 before any handler sees them. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Builds the HTTP application; main.ts, the tests and the benchmarks all start it this way. */
export async function createApp(options: AppModuleOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    genReqId: genRequestId,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: options.config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true },
    ...serverOptions(options.config),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  app.useBodyParser('application/json', { bodyLimit: BODY_LIMIT_BYTES }, jsonBodyParser(fastify));
  await fastify.register(helmet as never, HELMET_OPTIONS);
  await fastify.register(cookie as never);
  applyConsoleHeaders(fastify);
  applyClientCors(fastify, app.get(ClientsService));
  logRequests(fastify);
  app.get(Metrics).instrument(fastify);
  applyResponsePolicy(fastify);
  serveApiDocs(app);
  return app;
}
