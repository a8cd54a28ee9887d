import type { Tx } from '../infra/database/database.js';
import type { User, UserStatus } from './user.js';

export interface NewUser {
  email: string;
  passwordHash: string;
  roles: string[];
}

export interface UserPage {
  items: User[];
  /** Opaque cursor for the next page, null on the last one. */
  nextCursor: string | null;
}

/** Port: users as everyone reads them. No method returns a password hash. */
export abstract class UserRepository {
  abstract findById(id: string): Promise<User | null>;
  abstract findByEmail(email: string): Promise<User | null>;
  /** Oldest first; `q` matches a part of the email. */
  abstract list(options: { q?: string; cursor?: string; limit: number }): Promise<UserPage>;
  abstract count(): Promise<number>;
  /** Throws EmailTaken when the (normalised) email exists; inside `tx` when given (with its audit row, say). */
  abstract create(user: NewUser, tx?: Tx): Promise<User>;
}

/** Port: the only way to the password hash, for the code that checks or changes a password. */
export abstract class UserCredentialsRepository {
  abstract findCredentials(email: string): Promise<{ user: User; passwordHash: string } | null>;
  abstract updatePasswordHash(userId: string, passwordHash: string): Promise<void>;
}

export type { UserStatus };
