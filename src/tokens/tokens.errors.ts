import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

/** The tokens module's conditions: client authentication and registration, lookups of what it owns. */
export const TokensErrors = defineErrors('tokens', {
  INVALID_CLIENT: { status: 401, title: 'Client authentication failed', oauth: 'invalid_client', headers: { 'www-authenticate': 'Basic realm="latchkey", charset="UTF-8"' } },
  INVALID_CLIENT_NAME: { status: 400, title: 'Invalid client name' },
  INVALID_CLIENT_TYPE: { status: 400, title: 'Invalid client type' },
  INVALID_GRANT_TYPE: { status: 400, title: 'Invalid grant type for a client' },
  INVALID_CLIENT_SCOPE: { status: 400, title: 'Invalid scope name for a client' },
  INVALID_CLIENT_URI: { status: 400, title: 'Invalid redirect URI or origin for a client' },
  CLIENT_NOT_FOUND: { status: 404, title: 'Client not found' },
  SESSION_NOT_FOUND: { status: 404, title: 'Session not found' },
  SIGNING_KEY_NOT_FOUND: { status: 404, title: 'Signing key not found' },
});

/** RFC 6749 section 2.3: the client did not prove who it is. */
export const invalidClient = (description = 'client authentication failed') => new DomainError(TokensErrors.INVALID_CLIENT, description);
