import { defineErrors } from '../infra/errors/error-catalogue.js';

export const AdminErrors = defineErrors('admin', {
  STAFF_ONLY: { status: 403, title: 'Staff only' },
  ROLE_REQUIRED: { status: 403, title: 'Role required' },
  CONSOLE_SIGN_IN_REQUIRED: { status: 401, title: 'Sign in to the console' },
  CSRF_REJECTED: { status: 403, title: 'Request refused: it did not come from a console page' },
  INVALID_SECOND_FACTOR: { status: 401, title: 'Wrong or already used code' },
  TOO_MANY_CODE_ATTEMPTS: { status: 429, title: 'Too many wrong codes' },
  CONFIRMATION_REQUIRED: { status: 400, title: 'Confirmation required' },
});
