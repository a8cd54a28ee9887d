import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

/** The OAuth endpoints' own conditions (RFC 6749 section 5.2, RFC 7009, RFC 7662). */
export const OAuthErrors = defineErrors('oauth', {
  INVALID_REQUEST: { status: 400, title: 'Invalid request', oauth: 'invalid_request' },
  INVALID_GRANT: { status: 400, title: 'Invalid grant', oauth: 'invalid_grant' },
  UNAUTHORIZED_CLIENT: { status: 400, title: 'Client not allowed', oauth: 'unauthorized_client' },
  UNSUPPORTED_GRANT_TYPE: { status: 400, title: 'Unsupported grant type', oauth: 'unsupported_grant_type' },
  INVALID_SCOPE: { status: 400, title: 'Invalid scope', oauth: 'invalid_scope' },
});

export const invalidRequest = (description: string) => new DomainError(OAuthErrors.INVALID_REQUEST, description);
export const invalidGrant = (description: string) => new DomainError(OAuthErrors.INVALID_GRANT, description);
export const unauthorizedClient = (description: string) => new DomainError(OAuthErrors.UNAUTHORIZED_CLIENT, description);
export { invalidClient } from '../tokens/tokens.errors.js';
