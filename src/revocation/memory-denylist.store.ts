import { DenylistStore, type DenylistEntry, type DenylistKind, type RevokedBy, type TokenRef, decide } from './denylist.store.js';

/** The embedded default's denylist: correct for one instance only. */
export class MemoryDenylistStore extends DenylistStore {
  readonly kind = 'in-process' as const;
  private readonly entries = new Map<string, { value: number; expiresAt: number }>();
  private lastSweep = Date.now();

  private get(kind: DenylistKind, subject: string | undefined): number | undefined {
    if (subject === undefined) return undefined;
    const e = this.entries.get(`${kind}:${subject}`);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.entries.delete(`${kind}:${subject}`);
      return undefined;
    }
    return e.value;
  }

  async check(t: TokenRef): Promise<RevokedBy | null> {
    return decide(t, {
      jti: this.get('jti', t.jti),
      sid: this.get('sid', t.sid),
      kid: this.get('kid', t.kid),
      user: this.get('user', t.sub),
      client: this.get('client', t.clientId),
      global: this.get('global', ''),
    });
  }

  async rebuild(entries: DenylistEntry[]): Promise<void> {
    await this.add(entries);
  }

  /** Process memory cannot lose part of itself; a restart rebuilds at start-up. */
  async intact(): Promise<boolean> {
    return true;
  }

  async add(entries: DenylistEntry[]): Promise<void> {
    const now = Date.now();
    for (const e of entries) {
      const key = `${e.kind}:${e.subject}`;
      const cur = this.entries.get(key);
      const value = Math.max(e.cutoffMs ?? 1, cur && cur.expiresAt > now ? cur.value : 0);
      this.entries.set(key, { value, expiresAt: Math.max(now + e.ttlSeconds * 1000, cur?.expiresAt ?? 0) });
    }
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now;
      for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    }
  }
}
