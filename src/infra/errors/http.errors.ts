import { defineErrors } from './error-catalogue.js';

/**
 * Conditions that belong to no feature: validation of a request, and what the framework itself
 * answers (no such route, a body too large...). The filters fall back on these by HTTP status.
 */
export const HttpErrors = defineErrors('infra', {
  VALIDATION_FAILED: { status: 400, title: 'Validation failed', oauth: 'invalid_request' },
  BAD_REQUEST: { status: 400, title: 'Bad Request', oauth: 'invalid_request' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not Found', oauth: 'invalid_request' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed', oauth: 'invalid_request' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not Acceptable' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout' },
  CONFLICT: { status: 409, title: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload Too Large', oauth: 'invalid_request' },
  URI_TOO_LONG: { status: 414, title: 'URI Too Long', oauth: 'invalid_request' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', oauth: 'invalid_request' },
  UNPROCESSABLE: { status: 422, title: 'Unprocessable Content' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too Many Requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large' },
  INTERNAL: { status: 500, title: 'Internal Server Error', oauth: 'server_error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service Unavailable', oauth: 'temporarily_unavailable', headers: { 'retry-after': '1' } },
  PASSWORD_HASHING_BUSY: { status: 503, title: 'Password checks are busy', headers: { 'retry-after': '1' } },
});

/** The fallback code for an error that is not ours, by its HTTP status. */
export function httpErrorFor(status: number) {
  const found = Object.values(HttpErrors).find((s) => s.status === status && s.code !== 'VALIDATION_FAILED' && s.code !== 'PASSWORD_HASHING_BUSY');
  if (found) return found;
  return status < 500 ? HttpErrors.BAD_REQUEST : HttpErrors.INTERNAL;
}
