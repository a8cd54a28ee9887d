import type { User } from './user.js';

/** A user as the admin API and the CLI show it. */
export const userJson = (u: User) => ({
  id: u.id,
  email: u.email,
  roles: u.roles,
  status: u.status,
  tokens_valid_after: u.tokensValidAfter?.toISOString() ?? null,
  created_at: u.createdAt.toISOString(),
  updated_at: u.updatedAt.toISOString(),
});
