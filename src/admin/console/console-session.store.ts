import type { RedisClient } from '../../infra/redis/redis.module.js';

/** What the server keeps of one console session; the browser holds only its random id. */
export interface ConsoleSessionData {
  /** The staff member whose password was right (a session exists only from then on). */
  userId: string;
  /** `code`: password checked, second factor next; `enrol`: password checked, no TOTP yet; `in`: signed in. */
  stage: 'code' | 'enrol' | 'in';
  /** The synchronizer token every state-changing form carries. */
  csrf: string;
  /** When this id was issued (ms): the absolute timeout counts from it, and a staff member's cutoff refuses ids issued before it. */
  createdAt: number;
  lastSeenAt: number;
  /** The TOTP secret offered at enrolment, sealed with the key-encryption key, until a first code confirms it. */
  pendingSecret?: string;
  /** A message for the next page ("Locked ..."): shown once. */
  flash?: string;
}

/**
 * Port: server-side console sessions, keyed by the SHA-256 of their id (a store dump holds no
 * usable id). Redis when REDIS_URL is set, so that every instance sees every session; in process on
 * the embedded default.
 */
export abstract class ConsoleSessionStore {
  abstract get(key: string): Promise<ConsoleSessionData | null>;
  /** Stores the session for `ttlMs` (its idle or absolute end, whichever is sooner). */
  abstract put(key: string, data: ConsoleSessionData, ttlMs: number): Promise<void>;
  abstract delete(key: string): Promise<void>;
}

export class RedisConsoleSessionStore extends ConsoleSessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
  }

  async get(key: string): Promise<ConsoleSessionData | null> {
    const raw = await this.redis.get(this.keyOf(key));
    return raw ? (JSON.parse(raw) as ConsoleSessionData) : null;
  }

  async put(key: string, data: ConsoleSessionData, ttlMs: number): Promise<void> {
    await this.redis.set(this.keyOf(key), JSON.stringify(data), 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.keyOf(key));
  }

  private keyOf(key: string): string {
    return `${this.prefix}:console:${key}`;
  }
}

/** The in-process store keeps at most this many sessions; past it the oldest are dropped (sessions exist only after a right password). */
const MEMORY_LIMIT = 10_000;

export class MemoryConsoleSessionStore extends ConsoleSessionStore {
  private readonly sessions = new Map<string, { data: string; expiresAt: number }>();

  async get(key: string): Promise<ConsoleSessionData | null> {
    const entry = this.sessions.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.sessions.delete(key);
      return null;
    }
    return JSON.parse(entry.data) as ConsoleSessionData;
  }

  async put(key: string, data: ConsoleSessionData, ttlMs: number): Promise<void> {
    this.sessions.delete(key);
    this.sessions.set(key, { data: JSON.stringify(data), expiresAt: Date.now() + ttlMs });
    // Insertion order is age order (a write moves the session to the end): drop the oldest.
    while (this.sessions.size > MEMORY_LIMIT) this.sessions.delete(this.sessions.keys().next().value!);
  }

  async delete(key: string): Promise<void> {
    this.sessions.delete(key);
  }
}
