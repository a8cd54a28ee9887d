import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { DomainError } from '../infra/errors/domain-error.js';
import { InvalidToken, TokenRequired } from './auth.errors.js';
import { IS_PUBLIC } from './public.decorator.js';

/** The global guard: every route needs a valid, unrevoked access token unless it is @Public(). */
@Injectable()
export class AccessTokenGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  canActivate(ctx: ExecutionContext) {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    return super.canActivate(ctx);
  }

  handleRequest<T>(err: unknown, user: T, info: unknown): T {
    if (err instanceof DomainError) throw err;
    if (err) throw err;
    if (user) return user;
    if (info instanceof DomainError) throw info;
    const e = info as { name?: string; message?: string } | undefined;
    if (e?.name === 'TokenExpiredError') throw new InvalidToken('token expired');
    if (e?.message === 'No auth token') throw new TokenRequired();
    if (e?.name === 'JsonWebTokenError' && /audience/.test(e.message ?? '')) throw new InvalidToken('wrong audience');
    if (e?.name === 'JsonWebTokenError' && /issuer/.test(e.message ?? '')) throw new InvalidToken('wrong issuer');
    if (e?.name === 'NotBeforeError') throw new InvalidToken('token not yet valid');
    throw new InvalidToken('invalid signature or malformed token');
  }
}
