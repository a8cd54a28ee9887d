import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { DomainError } from '../infra/errors/domain-error.js';
import { InvalidToken, TokenRequired } from './auth.errors.js';

/** The `bearer` credential: passport-jwt (see JwtStrategy), with RFC 6750 answers for every refusal. */
@Injectable()
export class AccessTokenGuard extends AuthGuard('jwt') {
  handleRequest<T>(err: unknown, user: T, info: unknown): T {
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
