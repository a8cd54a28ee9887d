import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { PasswordHasher } from '../infra/crypto/password-hasher.js';
import type { Tx } from '../infra/database/database.js';
import { passwordWeakness } from './password-policy.js';
import { ROLE_PATTERN, type User } from './user.js';
import { UserCredentialsRepository, type UserPage, UserRepository } from './user.repository.js';
import { invalidEmail, invalidRole, weakPassword } from './users.errors.js';

const emailSchema = z.email().max(254);

export interface CreateUserInput {
  email: string;
  password: string;
  roles?: string[];
}

@Injectable()
export class UsersService {
  /** Verified against when the account does not exist, so that an unknown email costs a real hash. */
  private dummyHash?: Promise<string>;

  constructor(
    private readonly users: UserRepository,
    private readonly credentials: UserCredentialsRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  /** Checks the input fully before anything is written (a DomainError on bad input); inside `tx` when given. */
  async createUser(input: CreateUserInput, tx?: Tx): Promise<User> {
    const email = normaliseEmail(input.email);
    const roles = [...new Set(input.roles ?? [])];
    for (const role of roles) if (!ROLE_PATTERN.test(role)) throw invalidRole(role);
    const weakness = passwordWeakness(input.password, email);
    if (weakness) throw weakPassword(weakness);
    const passwordHash = await this.hasher.hash(input.password);
    return this.users.create({ email, passwordHash, roles }, tx);
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  list(options: { q?: string; cursor?: string; limit?: number }): Promise<UserPage> {
    return this.users.list({ ...options, limit: Math.min(Math.max(options.limit ?? 50, 1), 200) });
  }

  count(): Promise<number> {
    return this.users.count();
  }

  /**
   * The user whose password this is, or null. Unknown emails cost the same hash as known ones, and
   * a stored hash made with old parameters is replaced on success.
   */
  async verifyPassword(email: string, password: string): Promise<User | null> {
    const found = await this.credentials.findCredentials(email.trim().toLowerCase());
    if (!found) {
      await this.hasher.verify(await this.getDummyHash(), password);
      return null;
    }
    if (!(await this.hasher.verify(found.passwordHash, password))) return null;
    if (this.hasher.needsRehash(found.passwordHash)) {
      await this.credentials.updatePasswordHash(found.user.id, await this.hasher.hash(password));
    }
    return found.user;
  }

  private getDummyHash(): Promise<string> {
    // A failed attempt (the hashing queue full) is forgotten, so the next unknown email tries again
    // rather than answering 503 for ever, which would tell unknown emails from known ones.
    this.dummyHash ??= this.hasher.hash('latchkey-timing-equaliser-not-a-password').catch((err: unknown) => {
      this.dummyHash = undefined;
      throw err;
    });
    return this.dummyHash;
  }
}

export function normaliseEmail(raw: string | undefined): string {
  const email = (raw ?? '').trim().toLowerCase();
  if (!emailSchema.safeParse(email).success) throw invalidEmail(raw ?? '');
  return email;
}
