import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ValidationFailed } from '../errors/domain-error.js';

/** PostgreSQL refuses U+0000 in text: a request carrying it is refused here, before anything reads it. */
const NUL = '\u0000';

/** Where in `value` (a parsed body, query or params) a NUL first appears, keys included, as a field path; null if nowhere. */
export function nulAt(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes(NUL) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = nulAt(value[i], `${path}.${i}`);
      if (at) return at;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.includes(NUL)) return `${path}.(key)`;
      const at = nulAt(v, `${path}.${key}`);
      if (at) return at;
    }
  }
  return null;
}

/**
 * Global: every route's path parameters, query string and body are refused with 400
 * VALIDATION_FAILED (invalid_request on the OAuth endpoints) when a string in them carries a NUL,
 * before any guard, pipe or handler could pass it to the database.
 */
@Injectable()
export class InputGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const at = nulAt(req.params, 'params') ?? nulAt(req.query, 'query') ?? nulAt(req.body, 'body');
    if (at) throw new ValidationFailed([{ field: at.replace(/^(params|query|body)\./, ''), message: 'must not contain a NUL character' }]);
    return true;
  }
}
