import { DomainError } from '../infra/errors/domain-error.js';

export const UsersErrorCode = {
  EmailTaken: 'EMAIL_TAKEN',
  InvalidEmail: 'INVALID_EMAIL',
  WeakPassword: 'WEAK_PASSWORD',
  InvalidRole: 'INVALID_ROLE',
  UserNotFound: 'USER_NOT_FOUND',
} as const;

export class UsersError extends DomainError {}

export const emailTaken = (email: string) => new UsersError(UsersErrorCode.EmailTaken, 409, `a user with the email ${email} already exists`);
export const invalidEmail = (email: string) => new UsersError(UsersErrorCode.InvalidEmail, 400, `"${email}" is not a valid email address`);
export const weakPassword = (reason: string) => new UsersError(UsersErrorCode.WeakPassword, 400, reason);
export const invalidRole = (role: string) => new UsersError(UsersErrorCode.InvalidRole, 400, `"${role}" is not a valid role name (lowercase letters, digits, "_", ".", ":", "-")`);
export const userNotFound = () => new UsersError(UsersErrorCode.UserNotFound, 404, 'no such user');
