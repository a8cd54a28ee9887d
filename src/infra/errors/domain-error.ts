import type { ErrorSpec } from './error-catalogue.js';
import { HttpErrors } from './http.errors.js';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * A failure the caller can act on, of a condition declared in a module's catalogue. The filter of
 * the route group renders it: RFC 9457 problem+json on the APIs, RFC 6749 JSON on the OAuth
 * endpoints (through the spec's `oauth` value).
 */
export class DomainError extends Error {
  readonly code: string;
  readonly status: number;
  /** Response headers: the spec's own, then the ones given here. */
  readonly headers?: Record<string, string>;
  /** Field-level details for validation failures. */
  readonly errors?: FieldError[];

  constructor(
    readonly spec: ErrorSpec,
    /** Said to the caller: never a secret, never an internal error message. */
    message: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = spec.code;
    this.status = spec.status;
    this.errors = options.errors;
    const headers = { ...spec.headers, ...options.headers };
    if (Object.keys(headers).length) this.headers = headers;
  }
}

export class ValidationFailed extends DomainError {
  constructor(errors: FieldError[]) {
    super(HttpErrors.VALIDATION_FAILED, 'The request has invalid fields.', { errors });
  }
}
