import { Controller, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { Credential, Public } from '../infra/http/credential.decorator.js';
import { type Authenticators, AuthenticationGuard } from './authentication.guard.js';

@Controller('api')
class ApiController {
  @Get('default')
  byDefault() {}

  @Public()
  @Get('open')
  open() {}
}

@Controller('console')
@Credential('session')
class ConsoleController {
  @Get('page')
  page() {}
}

const contextOf = (cls: new () => object, method: string) => new ExecutionContextHost([{}, {}, () => undefined], cls, (cls.prototype as Record<string, () => void>)[method]);

describe('AuthenticationGuard', () => {
  function guardWith(authenticators: Authenticators) {
    return new AuthenticationGuard(new Reflector(), authenticators);
  }
  const recorder = () => {
    const calls: string[] = [];
    const of = (kind: string) => ({ canActivate: () => (calls.push(kind), true) });
    return { calls, authenticators: { bearer: of('bearer'), session: of('session') } };
  };

  it('asks for a bearer token on a route that declares nothing', async () => {
    const { calls, authenticators } = recorder();
    expect(await guardWith(authenticators).canActivate(contextOf(ApiController, 'byDefault'))).toBe(true);
    expect(calls).toEqual(['bearer']);
  });

  it('asks a route group for the credential it declares, and only that one', async () => {
    const { calls, authenticators } = recorder();
    expect(await guardWith(authenticators).canActivate(contextOf(ConsoleController, 'page'))).toBe(true);
    expect(calls).toEqual(['session']);
  });

  it('asks nothing of a @Public() route', async () => {
    const { calls, authenticators } = recorder();
    expect(await guardWith(authenticators).canActivate(contextOf(ApiController, 'open'))).toBe(true);
    expect(calls).toEqual([]);
  });

  it('refuses a route whose credential has no authenticator, rather than letting it through', () => {
    const { authenticators } = recorder();
    expect(() => guardWith({ bearer: authenticators.bearer }).canActivate(contextOf(ConsoleController, 'page'))).toThrow(/no authenticator for the session credential/);
  });
});
