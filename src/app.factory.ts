import helmet from '@fastify/helmet';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { genRequestId } from './infra/http/request-id.js';
import { logRequests } from './infra/logging/request-log.js';

/** Bodies past this size are refused with 413 before any handler sees them. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Builds the HTTP application; main.ts, the tests and the benchmarks all start it this way. */
export async function createApp(options: AppModuleOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    genReqId: genRequestId,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: options.config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(helmet as never, { contentSecurityPolicy: false });
  logRequests(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  return app;
}
