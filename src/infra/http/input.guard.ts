import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ValidationFailed } from '../errors/domain-error.js';

/** PostgreSQL refuses U+0000 in text: a request carrying it is refused here, before anything reads it. */
const NUL = '\u0000';

/**
 * Where in `value` (a parsed body, query or params) a NUL first appears, keys included, as a field
 * path; null if nowhere. Walks with a stack of its own, not recursion: a body nested thousands deep
 * (it fits in 64 KB) is walked like any other, it cannot exhaust the call stack.
 */
export function nulAt(value: unknown, path: string): string | null {
  const pending: [unknown, string][] = [[value, path]];
  while (pending.length) {
    const [v, at] = pending.pop()!;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return at;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) pending.push([v[i], `${at}.${i}`]);
    } else if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [key] of entries) if (key.includes(NUL)) return `${at}.(key)`;
      for (let i = entries.length - 1; i >= 0; i--) pending.push([entries[i][1], `${at}.${entries[i][0]}`]);
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
