import { type DenylistKind, type RevokedBy, type TokenRef, decide } from '../denylist.store.js';

/** One revocation as the mirror holds it: until `untilMs` (its honour_until), then forgotten. */
export interface MirrorEntry {
  kind: DenylistKind;
  subject: string;
  cutoffMs?: number;
  untilMs: number;
}

const BUCKET_MS = 1000;

/**
 * The denylist in this process's memory: one map per kind (a cutoff per user, client and the global
 * one; an expiry per revoked jti, sid and kid), and a wheel of one-second buckets saying what may
 * leave when. An entry added again keeps the later cutoff and the later end, as the Redis store does.
 */
export class DenylistMemory {
  private readonly ids = { jti: new Map<string, number>(), sid: new Map<string, number>(), kid: new Map<string, number>() };
  private readonly cutoffs = { user: new Map<string, { cutoffMs: number; untilMs: number }>(), client: new Map<string, { cutoffMs: number; untilMs: number }>() };
  private global: { cutoffMs: number; untilMs: number } | null = null;
  private readonly wheel = new Map<number, { kind: DenylistKind; subject: string }[]>();

  get size(): number {
    return this.ids.jti.size + this.ids.sid.size + this.ids.kid.size + this.cutoffs.user.size + this.cutoffs.client.size + (this.global ? 1 : 0);
  }

  add(e: MirrorEntry, now = Date.now()): void {
    if (e.untilMs <= now) return;
    if (e.kind === 'jti' || e.kind === 'sid' || e.kind === 'kid') {
      const map = this.ids[e.kind];
      const had = map.get(e.subject);
      if (had !== undefined && had >= e.untilMs) return;
      map.set(e.subject, e.untilMs);
    } else if (e.kind === 'global') {
      const g = this.global;
      this.global = { cutoffMs: Math.max(g?.cutoffMs ?? 0, e.cutoffMs ?? 0), untilMs: Math.max(g?.untilMs ?? 0, e.untilMs) };
    } else {
      const map = this.cutoffs[e.kind];
      const had = map.get(e.subject);
      map.set(e.subject, { cutoffMs: Math.max(had?.cutoffMs ?? 0, e.cutoffMs ?? 0), untilMs: Math.max(had?.untilMs ?? 0, e.untilMs) });
    }
    const bucket = Math.ceil(e.untilMs / BUCKET_MS);
    let due = this.wheel.get(bucket);
    if (!due) this.wheel.set(bucket, (due = []));
    due.push({ kind: e.kind, subject: e.subject });
  }

  /** Whether what the entry says is held already (an id until at least then, a cutoff at least as late). */
  covers(e: { kind: DenylistKind; subject: string; cutoffMs?: number }): boolean {
    if (e.kind === 'jti' || e.kind === 'sid' || e.kind === 'kid') return this.ids[e.kind].has(e.subject);
    const held = e.kind === 'global' ? this.global : this.cutoffs[e.kind].get(e.subject);
    return held !== null && held !== undefined && held.cutoffMs >= (e.cutoffMs ?? 0);
  }

  check(t: TokenRef): RevokedBy | null {
    return decide(t, {
      jti: this.ids.jti.get(t.jti),
      sid: t.sid === undefined ? undefined : this.ids.sid.get(t.sid),
      kid: this.ids.kid.get(t.kid),
      user: this.cutoffs.user.get(t.sub)?.cutoffMs,
      client: this.cutoffs.client.get(t.clientId)?.cutoffMs,
      global: this.global?.cutoffMs,
    });
  }

  /** Forgets what ended before `now` (each entry once its honour_until has passed: no live token is affected any more). */
  expire(now = Date.now()): number {
    let gone = 0;
    const last = Math.floor(now / BUCKET_MS);
    for (const [bucket, due] of this.wheel) {
      if (bucket > last) continue;
      this.wheel.delete(bucket);
      for (const { kind, subject } of due) gone += this.forget(kind, subject, now);
    }
    return gone;
  }

  private forget(kind: DenylistKind, subject: string, now: number): number {
    if (kind === 'jti' || kind === 'sid' || kind === 'kid') {
      const until = this.ids[kind].get(subject);
      return until !== undefined && until <= now && this.ids[kind].delete(subject) ? 1 : 0;
    }
    if (kind === 'global') {
      if (this.global && this.global.untilMs <= now) {
        this.global = null;
        return 1;
      }
      return 0;
    }
    const had = this.cutoffs[kind].get(subject);
    return had && had.untilMs <= now && this.cutoffs[kind].delete(subject) ? 1 : 0;
  }
}
