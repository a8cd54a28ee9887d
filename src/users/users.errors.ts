import { DomainError } from '../infra/errors/domain-error.js';
import { defineErrors } from '../infra/errors/error-catalogue.js';

export const UsersErrors = defineErrors('users', {
  EMAIL_TAKEN: { status: 409, title: 'Email already registered' },
  INVALID_EMAIL: { status: 400, title: 'Invalid email address' },
  WEAK_PASSWORD: { status: 400, title: 'Password too weak' },
  INVALID_ROLE: { status: 400, title: 'Invalid role name' },
  USER_NOT_FOUND: { status: 404, title: 'User not found' },
});

export const emailTaken = (email: string) => new DomainError(UsersErrors.EMAIL_TAKEN, `a user with the email ${email} already exists`);
export const invalidEmail = (email: string) => new DomainError(UsersErrors.INVALID_EMAIL, `"${email}" is not a valid email address`);
export const weakPassword = (reason: string) => new DomainError(UsersErrors.WEAK_PASSWORD, reason);
export const invalidRole = (role: string) => new DomainError(UsersErrors.INVALID_ROLE, `"${role}" is not a valid role name (lowercase letters, digits, "_", ".", ":", "-")`);
export const userNotFound = () => new DomainError(UsersErrors.USER_NOT_FOUND, 'no such user');
