import type { TokenRef } from '../denylist.store.js';
import { DenylistMemory } from './denylist-memory.js';

const token = (o: Partial<TokenRef> = {}): TokenRef => ({ jti: 'j1', sid: 's1', sub: 'u1', clientId: 'c1', kid: 'k1', iatMs: 1_000, ...o });

describe('the denylist in memory', () => {
  it('refuses by id and by cutoff, in the brief’s order, as the Redis store does', () => {
    const m = new DenylistMemory();
    const now = 10_000;
    m.add({ kind: 'user', subject: 'u1', cutoffMs: 1_000, untilMs: now + 60_000 }, now);
    expect(m.check(token({ iatMs: 1_000 }))).toBe('user');
    expect(m.check(token({ iatMs: 1_001 }))).toBeNull();
    m.add({ kind: 'sid', subject: 's1', untilMs: now + 60_000 }, now);
    expect(m.check(token({ iatMs: 1_001 }))).toBe('sid');
    m.add({ kind: 'global', subject: '', cutoffMs: 5_000, untilMs: now + 60_000 }, now);
    expect(m.check(token({ sid: 's2', iatMs: 4_000 }))).toBe('global');
    expect(m.size).toBe(3);
  });

  it('keeps the later cutoff and the later end when an entry comes again', () => {
    const m = new DenylistMemory();
    m.add({ kind: 'client', subject: 'c1', cutoffMs: 5_000, untilMs: 20_000 }, 0);
    m.add({ kind: 'client', subject: 'c1', cutoffMs: 3_000, untilMs: 10_000 }, 0);
    expect(m.check(token({ iatMs: 4_000 }))).toBe('client');
    expect(m.covers({ kind: 'client', subject: 'c1', cutoffMs: 5_000 })).toBe(true);
    expect(m.covers({ kind: 'client', subject: 'c1', cutoffMs: 6_000 })).toBe(false);
    expect(m.expire(15_000)).toBe(0);
    expect(m.check(token({ iatMs: 4_000 }))).toBe('client');
  });

  it('forgets each entry once its honour_until has passed, and not before', () => {
    const m = new DenylistMemory();
    m.add({ kind: 'jti', subject: 'j1', untilMs: 5_500 }, 0);
    m.add({ kind: 'jti', subject: 'j2', untilMs: 9_000 }, 0);
    expect(m.expire(5_000)).toBe(0);
    expect(m.check(token())).toBe('jti');
    expect(m.expire(6_000)).toBe(1);
    expect(m.check(token())).toBeNull();
    expect(m.size).toBe(1);
    m.add({ kind: 'jti', subject: 'late', untilMs: 1_000 }, 2_000);
    expect(m.size).toBe(1);
  });
});
