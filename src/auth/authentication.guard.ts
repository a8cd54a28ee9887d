import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CREDENTIAL, type CredentialKind } from '../infra/http/credential.decorator.js';

/** How one kind of credential is checked: it sets the request's principal, or throws. */
export type Authenticator = Pick<CanActivate, 'canActivate'>;

/** The authenticators by credential kind; the console adds `session`. */
export const AUTHENTICATORS = Symbol('AUTHENTICATORS');
export type Authenticators = Partial<Record<Exclude<CredentialKind, 'none'>, Authenticator>>;

/**
 * The global guard: every route requires the credential its group declares with `@Credential()`
 * (a bearer access token unless it says otherwise); only `@Public()` routes take none. A route whose
 * credential has no authenticator is refused: secure by default.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTHENTICATORS) private readonly authenticators: Authenticators,
  ) {}

  canActivate(ctx: ExecutionContext) {
    const kind = this.reflector.getAllAndOverride<CredentialKind | undefined>(CREDENTIAL, [ctx.getHandler(), ctx.getClass()]) ?? 'bearer';
    if (kind === 'none') return true;
    const authenticator = this.authenticators[kind];
    if (!authenticator) throw new Error(`no authenticator for the ${kind} credential`);
    return authenticator.canActivate(ctx);
  }
}
