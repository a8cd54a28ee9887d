export type UserStatus = 'active' | 'locked';

/** A user as every ordinary read returns it: never with the password hash. */
export interface User {
  id: string;
  email: string;
  roles: string[];
  status: UserStatus;
  /** Access tokens issued at or before this instant are refused. */
  tokensValidAfter: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Roles with meaning to Latchkey itself; any other role is carried in tokens for client apps. */
export const PRIVILEGED_ROLES = ['admin', 'security'] as const;

export const ROLE_PATTERN = /^[a-z][a-z0-9_.:-]{0,62}$/;
