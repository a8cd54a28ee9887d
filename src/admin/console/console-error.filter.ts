import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { claimPaths, ErrorSurface } from '../../infra/http/error-surface.js';
import { isConsolePath } from './console-headers.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { AdminErrors } from '../admin.errors.js';
import { toProblem } from '../../infra/errors/problem-details.filter.js';
import { errorPage } from './sign-in.pages.js';

const logger = new Logger('Console');

/**
 * The console's error surface: errors render as pages, not JSON. No session (or one that ended)
 * goes to the sign-in page; a script's request gets the status alone.
 */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    const fromScript = req.headers['x-requested-with'] === 'console';
    if (err instanceof DomainError && err.spec === AdminErrors.CONSOLE_SIGN_IN_REQUIRED && !fromScript) {
      void reply.code(303).header('location', '/admin/login').send();
      return;
    }
    const problem = toProblem(err);
    if (problem.status >= 500 && problem.status !== 503) logger.error({ err, requestId: req.id }, 'console request failed');
    if (err instanceof DomainError && err.headers) void reply.headers(err.headers);
    const signedIn = (req as unknown as { console?: unknown }).console !== undefined;
    void reply
      .code(problem.status)
      .type('text/html; charset=utf-8')
      .send(errorPage(problem.status, problem.title, problem.detail, signedIn));
  }
}

const consoleErrors = new ConsoleErrorFilter();
// A page that does not exist under /admin is a console page too: an HTML 404.
claimPaths('console', isConsolePath);

/** Binds a console controller to the HTML error surface. */
export const ConsoleSurface = () => ErrorSurface('console', consoleErrors);
