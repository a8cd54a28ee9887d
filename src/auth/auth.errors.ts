import { DomainError } from '../infra/errors/domain-error.js';

const quote = (s: string) => s.replace(/["\\]/g, '');

/** RFC 6750 section 3: 401 with a WWW-Authenticate Bearer challenge saying why. */
export class InvalidToken extends DomainError {
  constructor(description: string) {
    super('INVALID_TOKEN', 401, `The access token is not valid: ${description}.`, undefined, {
      'www-authenticate': `Bearer realm="latchkey", error="invalid_token", error_description="${quote(description)}"`,
    });
  }
}

/** No token at all: a bare challenge, as RFC 6750 section 3.1 asks. */
export class TokenRequired extends DomainError {
  constructor() {
    super('TOKEN_REQUIRED', 401, 'This endpoint requires a bearer access token.', undefined, { 'www-authenticate': 'Bearer realm="latchkey"' });
  }
}

export class RevocationUnavailable extends DomainError {
  constructor() {
    super('REVOCATION_STATE_UNAVAILABLE', 503, 'The revocation state cannot be read right now, so no token is accepted; retry shortly.', undefined, { 'retry-after': '1' });
  }
}

export class Forbidden extends DomainError {
  constructor(code: string, message: string) {
    super(code, 403, message);
  }
}
