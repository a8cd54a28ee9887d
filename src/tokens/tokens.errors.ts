import { defineErrors } from '../infra/errors/error-catalogue.js';

/** The tokens module's conditions: the OAuth endpoints' (RFC 6749 section 5.2), client registration, lookups. */
export const TokensErrors = defineErrors('tokens', {
  INVALID_REQUEST: { status: 400, title: 'Invalid request', oauth: 'invalid_request' },
  INVALID_CLIENT: { status: 401, title: 'Client authentication failed', oauth: 'invalid_client', headers: { 'www-authenticate': 'Basic realm="latchkey", charset="UTF-8"' } },
  INVALID_GRANT: { status: 400, title: 'Invalid grant', oauth: 'invalid_grant' },
  UNAUTHORIZED_CLIENT: { status: 400, title: 'Client not allowed', oauth: 'unauthorized_client' },
  UNSUPPORTED_GRANT_TYPE: { status: 400, title: 'Unsupported grant type', oauth: 'unsupported_grant_type' },
  INVALID_SCOPE: { status: 400, title: 'Invalid scope', oauth: 'invalid_scope' },
  INVALID_CLIENT_NAME: { status: 400, title: 'Invalid client name' },
  INVALID_CLIENT_TYPE: { status: 400, title: 'Invalid client type' },
  INVALID_GRANT_TYPE: { status: 400, title: 'Invalid grant type for a client' },
  INVALID_CLIENT_SCOPE: { status: 400, title: 'Invalid scope name for a client' },
  CLIENT_NOT_FOUND: { status: 404, title: 'Client not found' },
  SESSION_NOT_FOUND: { status: 404, title: 'Session not found' },
  SIGNING_KEY_NOT_FOUND: { status: 404, title: 'Signing key not found' },
});
