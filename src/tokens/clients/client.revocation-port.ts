import type { Tx } from '../../infra/database/database.js';

/**
 * Write port: revoking a client app, inside the revocation's transaction. Only the revocation
 * module calls it (and then makes this instance forget the client's cached credentials).
 */
export abstract class ClientRevocationPort {
  /** The client can no longer authenticate, and its tokens' cutoff is now; false when there is no such client. */
  abstract revoke(tx: Tx, clientId: string): Promise<boolean>;
}
