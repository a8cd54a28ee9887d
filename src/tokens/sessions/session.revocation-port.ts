import type { Tx } from '../../infra/database/database.js';

/** Write port: ending login sessions, inside the revocation's transaction. Only the revocation module calls it. */
export abstract class SessionRevocationPort {
  /**
   * Ends one live session and, for a sign-in session, every live client session born of it (single
   * logout); its user and every sid ended, or null when it was not live (unknown, or revoked before).
   */
  abstract end(tx: Tx, sid: string, reason: string): Promise<{ userId: string; sids: string[] } | null>;
  /** Of these sessions, those of active client apps with a back-channel logout URI: who holds each, and where to tell it. */
  abstract backchannelTargets(tx: Tx, sids: string[]): Promise<{ sid: string; userId: string; clientId: string; uri: string }[]>;
  /** When the session was revoked, if that was less than `seconds` ago (its tokens may still be live). */
  abstract revokedWithin(tx: Tx, sid: string, seconds: number): Promise<Date | null>;
  /** Ends every live session of a user (but `keepSid`); the sids ended. */
  abstract endForUser(tx: Tx, userId: string, reason: string, keepSid?: string): Promise<string[]>;
  /** Ends every live session of a client app; the sids ended. */
  abstract endForClient(tx: Tx, clientId: string, reason: string): Promise<string[]>;
  /**
   * Ends every session, after locking the sessions table against new ones, and takes the cutoff on
   * the database's clock under that lock: a session created concurrently is either ended here, or
   * its first token is issued after the cutoff.
   */
  abstract endAll(tx: Tx, reason: string): Promise<{ ended: number; cutoffMs: number }>;
}
