import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Who is calling, from a verified and unrevoked access token. */
export interface Principal {
  sub: string;
  clientId: string;
  /** Absent for client_credentials tokens: no user, no session. */
  sid?: string;
  scope: string;
  roles: string[];
  jti: string;
  kid: string;
  iatMs: number;
  exp: number;
  token: string;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest().user);
