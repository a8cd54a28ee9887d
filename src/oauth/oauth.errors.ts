import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

/**
 * The OAuth endpoints' own conditions (RFC 6749 sections 4.1.2.1 and 5.2, RFC 7009, RFC 7662,
 * OpenID Connect Core section 3.1.2.6, RP-Initiated Logout).
 */
export const OAuthErrors = defineErrors('oauth', {
  INVALID_REQUEST: { status: 400, title: 'Invalid request', oauth: 'invalid_request' },
  INVALID_GRANT: { status: 400, title: 'Invalid grant', oauth: 'invalid_grant' },
  UNAUTHORIZED_CLIENT: { status: 400, title: 'Client not allowed', oauth: 'unauthorized_client' },
  UNSUPPORTED_GRANT_TYPE: { status: 400, title: 'Unsupported grant type', oauth: 'unsupported_grant_type' },
  INVALID_SCOPE: { status: 400, title: 'Invalid scope', oauth: 'invalid_scope' },
  UNSUPPORTED_RESPONSE_TYPE: { status: 400, title: 'Unsupported response type', oauth: 'unsupported_response_type' },
  LOGIN_REQUIRED: { status: 400, title: 'Sign-in required', oauth: 'login_required' },
  REQUEST_NOT_SUPPORTED: { status: 400, title: 'Request objects not supported', oauth: 'request_not_supported' },
  REQUEST_URI_NOT_SUPPORTED: { status: 400, title: 'Request URIs not supported', oauth: 'request_uri_not_supported' },
  REGISTRATION_NOT_SUPPORTED: { status: 400, title: 'Registration parameter not supported', oauth: 'registration_not_supported' },
  INVALID_AUTHORIZATION_REQUEST: { status: 400, title: 'Invalid authorization request' },
  INVALID_LOGOUT_REQUEST: { status: 400, title: 'Invalid logout request' },
  SIGN_IN_FORM_REJECTED: { status: 403, title: 'Sign-in form rejected' },
});

export const invalidRequest = (description: string) => new DomainError(OAuthErrors.INVALID_REQUEST, description);
export const invalidGrant = (description: string) => new DomainError(OAuthErrors.INVALID_GRANT, description);
export const unauthorizedClient = (description: string) => new DomainError(OAuthErrors.UNAUTHORIZED_CLIENT, description);
export { invalidClient } from '../tokens/tokens.errors.js';
