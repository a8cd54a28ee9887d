import type { Tx } from '../infra/database/database.js';

/**
 * Write port: what revocation changes on a user, inside the revocation's transaction. Only the
 * revocation module calls it (the lint enforces it). Each method locks the user's row first, so
 * a cutoff is taken after the lock, on the database's clock (see CLOCK_MS): a token issued under a
 * share lock of the row is then either issued before the cutoff or sees the new state.
 */
export abstract class UserRevocationPort {
  /** Sets the user's cutoff to now (and locks the account when `lock`); null when there is no such user. */
  abstract setCutoff(tx: Tx, userId: string, options: { lock: boolean }): Promise<{ cutoffMs: number } | null>;
  /** The account may sign in again; false when there is no such user. */
  abstract unlock(tx: Tx, userId: string): Promise<boolean>;
  /** New roles and a cutoff; the previous roles, or null when there is no such user. */
  abstract setRoles(tx: Tx, userId: string, roles: string[]): Promise<{ previous: string[]; cutoffMs: number } | null>;
  /** A new password hash; false when there is no such user. */
  abstract setPasswordHash(tx: Tx, userId: string, passwordHash: string): Promise<boolean>;
}
