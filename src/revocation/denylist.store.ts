/** What the revocation check needs to know of a verified access token. */
export interface TokenRef {
  jti: string;
  sid?: string;
  sub: string;
  clientId: string;
  kid: string;
  /** Issue time in milliseconds (the `iat_ms` claim): finer than `iat`, so a token issued in the same second after a revocation still passes. */
  iatMs: number;
}

export type DenylistKind = 'jti' | 'sid' | 'user' | 'client' | 'kid' | 'global';

/** One denylist entry: a revoked id, or a cutoff (tokens issued at or before it are refused). */
export interface DenylistEntry {
  kind: DenylistKind;
  /** jti, sid, user id, client_id or kid; empty for the global cutoff. */
  subject: string;
  /** For user, client and global entries. */
  cutoffMs?: number;
  /** Seconds until the entry can no longer affect a live token. */
  ttlSeconds: number;
}

export type RevokedBy = DenylistKind;


/**
 * Port: the fast path of revocation. PostgreSQL holds every revocation in force; this store answers
 * "is this token revoked?" in one round trip.
 */
export abstract class DenylistStore {
  /** The reason this token is refused, or null. Throws RevocationStateUnavailable when it cannot tell. */
  abstract check(token: TokenRef): Promise<RevokedBy | null>;
  /** Adds entries; `confirm: false` (a background repair) need not wait for other instances to have them. */
  abstract add(entries: DenylistEntry[], o?: { confirm?: boolean }): Promise<void>;
  /** Writes every entry in force and marks the denylist complete, atomically. */
  abstract rebuild(entries: DenylistEntry[]): Promise<void>;
  /** False when the store lost its data (Redis flushed, restarted empty, failed over) and needs a rebuild. */
  abstract intact(): Promise<boolean>;
  /** Called when a check finds the data gone (on every such check until the rebuild; DenylistSync shares one rebuild among them). */
  onLost(handler: () => void): void {
    this.lostHandler = handler;
  }
  protected lostHandler?: () => void;
  /** Starts what the store runs in the background (the mirror's feed). */
  start(): void {}
  /** Resolves once the store can answer checks (the mirror: joined the feed), or after `ms`. */
  whenReady(_ms: number): Promise<void> {
    return Promise.resolve();
  }
  async stop(): Promise<void> {}
  /** Whether this instance may answer checks now (the mirror: in step with the revocation feed). */
  accepting(): boolean {
    return true;
  }
  /** Whether this store already holds what the entry says (the mirror, which learns from the feed: nothing to publish again). */
  covers(_entry: Pick<DenylistEntry, 'kind' | 'subject' | 'cutoffMs'>): boolean {
    return false;
  }
  /** Human-readable name for the start-up log and health. */
  abstract readonly kind: 'redis' | 'redis-mirror' | 'in-process';
}

/** Applies the MGET answer (or the in-process map's values) in the brief's order. */
export function decide(token: TokenRef, v: { jti?: unknown; sid?: unknown; kid?: unknown; user?: unknown; client?: unknown; global?: unknown }): RevokedBy | null {
  if (v.jti != null) return 'jti';
  if (v.sid != null) return 'sid';
  if (v.kid != null) return 'kid';
  if (v.user != null && token.iatMs <= Number(v.user)) return 'user';
  if (v.client != null && token.iatMs <= Number(v.client)) return 'client';
  if (v.global != null && token.iatMs <= Number(v.global)) return 'global';
  return null;
}
