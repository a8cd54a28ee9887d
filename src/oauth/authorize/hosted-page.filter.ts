import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../infra/errors/domain-error.js';
import { toProblem } from '../../infra/errors/problem-details.filter.js';
import { ErrorSurface } from '../../infra/http/error-surface.js';
import { errorPage, sendHostedPage } from './pages.js';

const logger = new Logger('SignIn');

/** The hosted pages' error surface: an HTML page with the condition's status, never JSON, never a redirect. */
@Catch()
export class HostedPageErrorFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const problem = toProblem(err);
    if (problem.status >= 500 && problem.status !== 503) logger.error({ err, requestId: ctx.getRequest<FastifyRequest>().id }, 'hosted page failed');
    if (err instanceof DomainError && err.headers) void reply.headers(err.headers);
    sendHostedPage(reply, errorPage(problem.title, problem.detail), { status: problem.status });
  }
}

const hostedPageErrors = new HostedPageErrorFilter();

/** Binds a controller of hosted pages (sign-in, logout) to the HTML error surface. */
export const HostedPageSurface = () => ErrorSurface('hosted-page', hostedPageErrors);
