import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface CacheLimits {
  /** At most this many tokens. */
  maxEntries: number;
  /** At most about this many bytes (token hash, claims). */
  maxBytes: number;
}

interface Entry {
  payload: Record<string, unknown>;
  expMs: number;
}

/**
 * Tokens whose signature and claims were already verified, keyed by the token's SHA-256, until
 * their `exp`. A hit saves the ES256 verification only: the header checks (alg, typ, kid still
 * verifying) run before the cache is asked, and the revocation check runs on every request after it.
 * Bounded in entries and in bytes; a token is never served at or past its `exp`.
 */
export class VerifiedTokenCache {
  private readonly lru: LRUCache<string, Entry>;

  constructor(
    limits: CacheLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.lru = new LRUCache<string, Entry>({
      max: limits.maxEntries,
      maxSize: limits.maxBytes,
      sizeCalculation: (e, key) => key.length + 64 + JSON.stringify(e.payload).length * 2,
    });
  }

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(token: string): Record<string, unknown> | undefined {
    const key = VerifiedTokenCache.keyOf(token);
    const e = this.lru.get(key);
    if (!e) return undefined;
    if (e.expMs <= this.now()) {
      this.lru.delete(key);
      return undefined;
    }
    return e.payload;
  }

  set(token: string, payload: Record<string, unknown>): void {
    if (typeof payload.exp !== 'number') return;
    const expMs = payload.exp * 1000;
    if (expMs <= this.now()) return;
    this.lru.set(VerifiedTokenCache.keyOf(token), { payload, expMs });
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
