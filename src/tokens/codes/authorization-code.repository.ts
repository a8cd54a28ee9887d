import { Injectable } from '@nestjs/common';
import { Database } from '../../infra/database/database.js';

/** What an authorization code stands for (RFC 6749 section 4.1.2), bound to its client, redirect URI and PKCE challenge. */
export interface AuthorizationGrant {
  clientId: string;
  redirectUri: string;
  /** The S256 challenge (RFC 7636), or null when a confidential client was allowed without PKCE. */
  codeChallenge: string | null;
  scope: string;
  nonce: string | null;
  userId: string;
  signInSessionId: string;
  authTime: Date;
}

interface CodeRow {
  client_id: string;
  redirect_uri: string;
  code_challenge: string | null;
  scope: string;
  nonce: string | null;
  user_id: string;
  sign_in_session_id: string;
  auth_time: Date;
}

export type Redemption =
  | { kind: 'redeemed'; grant: AuthorizationGrant }
  | { kind: 'reused'; sessionId: string | null }
  | { kind: 'unknown' };

/** Port: one-time authorization codes, stored only as SHA-256 hashes. */
export abstract class AuthorizationCodeRepository {
  abstract store(codeHash: string, grant: AuthorizationGrant, expiresAt: Date): Promise<void>;
  /**
   * Marks the code redeemed for the session `sessionId` (about to be created) if it is unused,
   * unexpired, and presented with its bindings (the client, the redirect URI, and the S256 of the
   * verifier, or none for a code issued without a challenge): of two concurrent redemptions exactly
   * one wins, and a presentation without the bindings uses nothing up (an intercepted code cannot be
   * burned). A code redeemed before comes back as `reused` with the session its first redemption
   * made, and is flagged so that a first redemption still in flight learns it (see `wasReused`).
   */
  abstract redeem(codeHash: string, sessionId: string, bindings: { clientId: string; redirectUri: string; verifierS256: string | null }): Promise<Redemption>;
  /** Whether the code was presented again after its redemption. */
  abstract wasReused(codeHash: string): Promise<boolean>;
}

@Injectable()
export class TypeOrmAuthorizationCodeRepository extends AuthorizationCodeRepository {
  constructor(private readonly db: Database) {
    super();
  }

  async store(codeHash: string, g: AuthorizationGrant, expiresAt: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, code_challenge, scope, nonce, user_id, sign_in_session_id, auth_time, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [codeHash, g.clientId, g.redirectUri, g.codeChallenge, g.scope, g.nonce, g.userId, g.signInSessionId, g.authTime, expiresAt],
    );
  }

  async redeem(codeHash: string, sessionId: string, b: { clientId: string; redirectUri: string; verifierS256: string | null }): Promise<Redemption> {
    const [row] = await this.db.query<CodeRow>(
      `UPDATE authorization_codes SET redeemed_at = now(), session_id = $2
        WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > now() AND client_id = $3 AND redirect_uri = $4
          AND (code_challenge = $5 OR (code_challenge IS NULL AND $5::text IS NULL)) RETURNING *`,
      [codeHash, sessionId, b.clientId, b.redirectUri, b.verifierS256],
    );
    if (row) {
      return {
        kind: 'redeemed',
        grant: {
          clientId: row.client_id,
          redirectUri: row.redirect_uri,
          codeChallenge: row.code_challenge,
          scope: row.scope,
          nonce: row.nonce,
          userId: row.user_id,
          signInSessionId: row.sign_in_session_id,
          authTime: new Date(row.auth_time),
        },
      };
    }
    const [used] = await this.db.query<{ session_id: string | null }>(`UPDATE authorization_codes SET reused_at = now() WHERE code_hash = $1 AND redeemed_at IS NOT NULL RETURNING session_id`, [codeHash]);
    return used ? { kind: 'reused', sessionId: used.session_id } : { kind: 'unknown' };
  }

  async wasReused(codeHash: string): Promise<boolean> {
    const [row] = await this.db.query<{ reused_at: Date | null }>(`SELECT reused_at FROM authorization_codes WHERE code_hash = $1`, [codeHash]);
    return Boolean(row?.reused_at);
  }
}
