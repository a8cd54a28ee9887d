import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

export const RevocationErrors = defineErrors('revocation', {
  REVOCATION_NOT_PROPAGATED: { status: 503, title: 'Revocation not confirmed everywhere yet', headers: { 'retry-after': '1' } },
  REVOCATION_STATE_UNAVAILABLE: { status: 503, title: 'Revocation state unavailable', headers: { 'retry-after': '1' } },
});

/** The revocation is committed, but not every instance is sure to refuse the tokens yet. */
export class RevocationNotPropagated extends DomainError {
  constructor() {
    super(RevocationErrors.REVOCATION_NOT_PROPAGATED, 'The revocation is recorded and will take effect, but it could not be confirmed on every instance yet; retry the call.');
  }
}

/**
 * The revocation state cannot be read (Redis unreachable, the denylist being rebuilt, this instance
 * catching up): protected requests fail closed with 503. The reason stays in `cause`, for the log.
 */
export class RevocationStateUnavailable extends DomainError {
  constructor(reason: string) {
    super(RevocationErrors.REVOCATION_STATE_UNAVAILABLE, 'The revocation state cannot be read right now, so no token is accepted; retry shortly.', { cause: reason });
  }
}
