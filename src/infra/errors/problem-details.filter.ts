import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorSurface, surfaceFilterOf } from '../http/error-surface.js';
import { DomainError } from './domain-error.js';
import { httpErrorFor } from './http.errors.js';

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

/** The HTTP status of any error: ours, Nest's, or Fastify's. */
export function statusOf(err: unknown): number {
  if (err instanceof DomainError) return err.status;
  if (err instanceof HttpException) return err.getStatus();
  return (err as { statusCode?: number })?.statusCode ?? 500;
}

/** Maps any error to RFC 9457 problem details; an error that is not ours becomes an opaque 500. */
export function toProblem(err: unknown): ProblemDetails {
  if (err instanceof DomainError) {
    return {
      type: `urn:latchkey:error:${err.code.toLowerCase()}`,
      title: err.spec.title,
      status: err.status,
      detail: err.message,
      code: err.code,
      ...(err.errors ? { errors: err.errors } : {}),
    };
  }
  const status = statusOf(err);
  const spec = httpErrorFor(status);
  const known = status < 500 || status === 503;
  const detail = known ? (err instanceof HttpException ? String((err.getResponse() as { message?: string })?.message ?? err.message) : (err as Error).message) : 'An unexpected error occurred.';
  const problem: ProblemDetails = { type: `urn:latchkey:error:${spec.code.toLowerCase()}`, title: spec.title, status, detail, code: spec.code };
  // Health checks say which dependency failed.
  const details = err instanceof HttpException ? (err.getResponse() as { details?: unknown })?.details : undefined;
  return details ? { ...problem, details } : problem;
}

const logger = new Logger('Errors');

/**
 * Answers an error as RFC 9457 problem+json (never cacheable), with the request's path and id. The
 * APIs' filter answers this way, and so do the answers Fastify gives before any route is found.
 */
export function sendProblem(reply: FastifyReply, request: FastifyRequest, err: unknown): void {
  const problem = toProblem(err);
  if (problem.status >= 500 && problem.status !== 503) logger.error({ err, requestId: request.id }, 'request failed');
  problem.instance = request.url.split('?')[0];
  problem.request_id = String(request.id);
  const headers = (err as { headers?: Record<string, string> })?.headers;
  if (headers) reply.headers(headers);
  reply.status(problem.status).header('content-type', 'application/problem+json').header('cache-control', 'no-store').send(problem);
}

/**
 * The APIs' surface, and the global fallback: RFC 9457 problem+json. An error on a route whose group
 * declared another surface (see ErrorSurface) is handed to that surface's filter.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    const surface = surfaceFilterOf(host);
    if (surface && surface !== this) return surface.catch(err, host);
    const ctx = host.switchToHttp();
    sendProblem(ctx.getResponse<FastifyReply>(), ctx.getRequest<FastifyRequest>(), err);
  }
}

const apiErrors = new ProblemDetailsFilter();

/** Binds a controller to the APIs' surface: RFC 9457 problem+json (also the fallback of routes that bind none). */
export const ApiSurface = () => ErrorSurface('api', apiErrors);
