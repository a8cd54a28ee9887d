import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

export const AuthErrors = defineErrors('auth', {
  INVALID_TOKEN: { status: 401, title: 'Invalid access token' },
  TOKEN_REQUIRED: { status: 401, title: 'Access token required', headers: { 'www-authenticate': 'Bearer realm="latchkey"' } },
  USER_TOKEN_REQUIRED: { status: 403, title: 'A user’s token is required' },
  WRONG_PASSWORD: { status: 403, title: 'Wrong current password' },
  INVALID_CREDENTIALS: { status: 400, title: 'Sign-in failed', oauth: 'invalid_grant' },
  TOO_MANY_SIGN_IN_ATTEMPTS: { status: 429, title: 'Too many failed sign-ins', oauth: 'too_many_requests' },
  SIGN_IN_UNAVAILABLE: { status: 503, title: 'Sign-in temporarily unavailable', oauth: 'temporarily_unavailable', headers: { 'retry-after': '1' } },
});

const quote = (s: string) => s.replace(/["\\]/g, '');

/** RFC 6750 section 3: 401 with a WWW-Authenticate Bearer challenge saying why. */
export class InvalidToken extends DomainError {
  constructor(description: string) {
    super(AuthErrors.INVALID_TOKEN, `The access token is not valid: ${description}.`, {
      headers: { 'www-authenticate': `Bearer realm="latchkey", error="invalid_token", error_description="${quote(description)}"` },
    });
  }
}

/** No token at all: a bare challenge, as RFC 6750 section 3.1 asks. */
export class TokenRequired extends DomainError {
  constructor() {
    super(AuthErrors.TOKEN_REQUIRED, 'This endpoint requires a bearer access token.');
  }
}
