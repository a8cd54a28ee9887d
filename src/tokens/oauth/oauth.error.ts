import { DomainError } from '../../infra/errors/domain-error.js';
import { TokensErrors } from '../tokens.errors.js';

export const invalidRequest = (description: string) => new DomainError(TokensErrors.INVALID_REQUEST, description);
export const invalidClient = (description = 'client authentication failed') => new DomainError(TokensErrors.INVALID_CLIENT, description);
export const invalidGrant = (description: string) => new DomainError(TokensErrors.INVALID_GRANT, description);
export const unauthorizedClient = (description: string) => new DomainError(TokensErrors.UNAUTHORIZED_CLIENT, description);
