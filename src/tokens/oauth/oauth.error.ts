/** RFC 6749 section 5.2 error codes (and RFC 6750 for the resource side). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'too_many_requests'
  | 'server_error'
  | 'temporarily_unavailable';

/** An error answered as `{error, error_description}` JSON, never as problem+json. */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status = error === 'invalid_client' ? 401 : error === 'too_many_requests' ? 429 : 400,
    readonly headers: Record<string, string> = error === 'invalid_client' ? { 'www-authenticate': 'Basic realm="latchkey", charset="UTF-8"' } : {},
  ) {
    super(description);
  }
}

export const invalidRequest = (d: string) => new OAuthError('invalid_request', d);
export const invalidClient = (d = 'client authentication failed') => new OAuthError('invalid_client', d);
export const invalidGrant = (d: string) => new OAuthError('invalid_grant', d);
