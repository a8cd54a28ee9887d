/**
 * A failure the caller can act on. Each module defines its codes; one filter maps every DomainError
 * to RFC 9457 problem+json (or to RFC 6749 JSON on the OAuth endpoints).
 */
export class DomainError extends Error {
  constructor(
    /** Stable, documented, SCREAMING_SNAKE code. */
    readonly code: string,
    readonly status: number,
    message: string,
    /** Field-level details for validation failures. */
    readonly errors?: { field: string; message: string }[],
    /** Response headers the error requires (WWW-Authenticate, Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailed extends DomainError {
  constructor(errors: { field: string; message: string }[]) {
    super('VALIDATION_FAILED', 400, 'The request has invalid fields.', errors);
  }
}
