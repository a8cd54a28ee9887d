import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../infra/errors/domain-error.js';
import type { OAuthErrorValue } from '../infra/errors/error-catalogue.js';
import { HttpErrors } from '../infra/errors/http.errors.js';
import { ErrorSurface } from '../infra/http/error-surface.js';
import { statusOf } from '../infra/errors/problem-details.filter.js';

interface OAuthAnswer {
  error: OAuthErrorValue;
  description: string;
  status: number;
  headers: Record<string, string>;
}

/**
 * RFC 6749 section 5.2: a condition with an RFC 6749 value answers it with its own description; any
 * other error answers by its status, with a fixed description (never an internal message).
 */
export function toOAuthAnswer(err: unknown): OAuthAnswer {
  if (err instanceof DomainError && err.spec.oauth) {
    return { error: err.spec.oauth, description: err.message, status: err.status, headers: err.headers ?? {} };
  }
  const status = statusOf(err);
  if (status === 503) return { error: 'temporarily_unavailable', description: 'the service is temporarily unavailable; retry shortly', status, headers: { ...HttpErrors.SERVICE_UNAVAILABLE.headers } };
  if (status >= 500) return { error: 'server_error', description: 'the server could not handle the request', status: 500, headers: {} };
  if (status === 413) return { error: 'invalid_request', description: 'the request body is too large', status: 400, headers: {} };
  if (status === 415) return { error: 'invalid_request', description: 'the request must be application/x-www-form-urlencoded', status: 400, headers: {} };
  if (status === 404 || status === 405) return { error: 'invalid_request', description: 'no such endpoint or method', status, headers: {} };
  return { error: 'invalid_request', description: 'the request is malformed', status: 400, headers: {} };
}

/** The OAuth endpoints' surface: `{error, error_description}` JSON, never problem+json, never cached. */
@Catch()
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const answer = toOAuthAnswer(err);
    if (answer.status >= 500) this.logger.error({ err, requestId: ctx.getRequest<FastifyRequest>().id }, 'request failed');
    reply
      .status(answer.status)
      .headers(answer.headers)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('content-type', 'application/json; charset=utf-8')
      .send({ error: answer.error, error_description: answer.description });
  }
}

const oauthErrors = new OAuthErrorFilter();

/** Binds a controller to the OAuth error surface. */
export const OAuthSurface = () => ErrorSurface('oauth', oauthErrors);
