import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../../tokens/oauth/oauth.error.js';
import { DomainError } from './domain-error.js';

/** RFC 6749 section 5.2 JSON for the OAuth endpoints; framework errors there are invalid_request. */
function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  const status = err instanceof HttpException ? err.getStatus() : err instanceof DomainError ? err.status : ((err as { statusCode?: number })?.statusCode ?? 500);
  if (status === 503) return new OAuthError('temporarily_unavailable', 'the service is temporarily unavailable; retry shortly', 503, { 'retry-after': '1' });
  if (status >= 500) return new OAuthError('server_error', 'the server could not handle the request', 500, {});
  if (status === 413) return new OAuthError('invalid_request', 'the request body is too large');
  if (status === 415) return new OAuthError('invalid_request', 'the request must be application/x-www-form-urlencoded');
  if (status === 404 || status === 405) return new OAuthError('invalid_request', 'no such endpoint or method', status, {});
  return new OAuthError('invalid_request', 'the request is malformed');
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

const TITLE_BY_STATUS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  request_id?: string;
  errors?: { field: string; message: string }[];
  details?: unknown;
}

/** Maps any error to RFC 9457 problem details; an error that is not ours becomes an opaque 500. */
export function toProblem(err: unknown): ProblemDetails {
  if (err instanceof DomainError) {
    return {
      type: `urn:latchkey:error:${err.code.toLowerCase()}`,
      title: TITLE_BY_STATUS[err.status] ?? 'Error',
      status: err.status,
      detail: err.message,
      code: err.code,
      ...(err.errors ? { errors: err.errors } : {}),
    };
  }
  const status = err instanceof HttpException ? err.getStatus() : ((err as { statusCode?: number })?.statusCode ?? 500);
  const known = status < 500 || status === 503;
  const code = CODE_BY_STATUS[status] ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL');
  const detail = known ? (err instanceof HttpException ? String((err.getResponse() as { message?: string })?.message ?? err.message) : (err as Error).message) : 'An unexpected error occurred.';
  const problem: ProblemDetails = { type: `urn:latchkey:error:${code.toLowerCase()}`, title: TITLE_BY_STATUS[status] ?? 'Error', status, detail, code };
  // Health checks say which dependency failed.
  const details = err instanceof HttpException ? (err.getResponse() as { details?: unknown })?.details : undefined;
  return details ? { ...problem, details } : problem;
}

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    if (err instanceof OAuthError || request.url.startsWith('/oauth/')) {
      const oauth = toOAuthError(err);
      if (oauth.status >= 500) this.logger.error({ err, requestId: request.id }, 'request failed');
      reply
        .status(oauth.status)
        .headers(oauth.headers)
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .header('content-type', 'application/json; charset=utf-8')
        .send({ error: oauth.error, error_description: oauth.description });
      return;
    }
    const problem = toProblem(err);
    if (problem.status >= 500 && problem.status !== 503) this.logger.error({ err, requestId: request.id }, 'request failed');
    problem.instance = request.url.split('?')[0];
    problem.request_id = String(request.id);
    const headers = (err as { headers?: Record<string, string> })?.headers;
    if (headers) reply.headers(headers);
    reply.status(problem.status).header('content-type', 'application/problem+json').header('cache-control', 'no-store').send(problem);
  }
}
