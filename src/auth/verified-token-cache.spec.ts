import { VerifiedTokenCache } from './verified-token-cache.js';

const token = (n: number) => `header.${'p'.repeat(100)}${n}.signature`;

describe('VerifiedTokenCache', () => {
  let now = 1_000_000_000_000;
  const clock = () => now;

  it('serves a verified token until its exp, and never at or after it', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxBytes: 1_000_000 }, clock);
    const exp = Math.floor(now / 1000) + 60;
    cache.set(token(1), { sub: 'u1', exp });
    expect(cache.get(token(1))).toEqual({ sub: 'u1', exp });
    now = exp * 1000 - 1;
    expect(cache.get(token(1))).toBeDefined();
    now = exp * 1000;
    expect(cache.get(token(1))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does not keep a token that is already expired, or one without exp', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxBytes: 1_000_000 }, clock);
    cache.set(token(2), { sub: 'u', exp: Math.floor(now / 1000) - 1 });
    cache.set(token(3), { sub: 'u' });
    expect(cache.size).toBe(0);
  });

  it('is bounded in entries, dropping the least recently used', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 3, maxBytes: 1_000_000 }, clock);
    const exp = Math.floor(now / 1000) + 600;
    for (let i = 0; i < 10; i++) cache.set(token(i), { sub: `u${i}`, exp });
    expect(cache.size).toBe(3);
    expect(cache.get(token(0))).toBeUndefined();
    expect(cache.get(token(9))).toBeDefined();
  });

  it('is bounded in memory', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 1_000_000, maxBytes: 20_000 }, clock);
    const exp = Math.floor(now / 1000) + 600;
    for (let i = 0; i < 1000; i++) cache.set(token(i), { sub: `user-${i}`, scope: 'read write', roles: ['a', 'b'], exp });
    expect(cache.bytes).toBeLessThanOrEqual(20_000);
    expect(cache.size).toBeLessThan(1000);
    expect(cache.size).toBeGreaterThan(10);
  });

  it('keys by the token hash: a token differing in one character is a miss', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxBytes: 1_000_000 }, clock);
    cache.set('a.b.c', { exp: Math.floor(now / 1000) + 60 });
    expect(cache.get('a.b.d')).toBeUndefined();
  });
});
