import { defineErrors } from '../infra/errors/error-catalogue.js';

export const AdminErrors = defineErrors('admin', {
  STAFF_ONLY: { status: 403, title: 'Staff only' },
  ROLE_REQUIRED: { status: 403, title: 'Role required' },
});
