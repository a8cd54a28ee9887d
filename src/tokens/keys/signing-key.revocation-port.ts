import type { Tx } from '../../infra/database/database.js';

export type KeyRevocationOutcome = { found: false } | { found: true; revoked: boolean; successorKid?: string };

/**
 * Write port: revoking a compromised signing key, inside the revocation's transaction. Only the
 * revocation module calls it (and then makes this instance reload its keys).
 */
export abstract class SigningKeyRevocationPort {
  /**
   * Revokes `kid`. When it is the active key, a new key becomes active in the same transaction, so
   * that signing never stops and the compromised key is never left retired but not revoked.
   * `revoked` is false when it was revoked before.
   */
  abstract revoke(tx: Tx, kid: string): Promise<KeyRevocationOutcome>;
}
