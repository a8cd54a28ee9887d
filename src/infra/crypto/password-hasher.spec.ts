import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { AppConfig } from '../../config/config.schema.js';
import { HASHING_THREAD_NICE, HashingPool, HashingQueueFull, HashingUnavailable } from './hashing-pool.js';
import { ARGON2_PARAMS, Argon2PasswordHasher, PasswordHashingBusy } from './password-hasher.js';

/** The nice value of one thread of this process, from /proc (field 19 of its stat line). */
function niceOf(tid: number): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** The event loop's thread's priority before any hashing thread exists. */
const baseNice = niceOf(process.pid);

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher({ passwordHashQueueLimit: 128 } as AppConfig);
  afterAll(() => hasher.onApplicationShutdown());

  it('hashes with argon2id and the current parameters, and verifies', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hasher.needsRehash(stored)).toBe(false);
    await expect(hasher.verify(stored, 'correct horse battery staple')).resolves.toBe(true);
    await expect(hasher.verify(stored, 'correct horse battery stapl')).resolves.toBe(false);
  });

  it('answers false, not an error, for a malformed stored hash', async () => {
    await expect(hasher.verify('not-a-hash', 'whatever')).resolves.toBe(false);
    expect(hasher.needsRehash('$argon2id$v=19$m=4096,t=3,p=1$abc$def')).toBe(true);
  });

  it('says busy (503), never "wrong password", when the queue is full', async () => {
    const busy = new Argon2PasswordHasher({ passwordHashQueueLimit: 1 } as AppConfig);
    try {
      const stored = await busy.hash('correct horse battery staple');
      // One thread per core runs, one more waits: the rest of the burst must be shed.
      const burst = Array.from({ length: availableParallelism() + 6 }, () => busy.verify(stored, 'correct horse battery staple').then((ok) => ok, (e: Error) => e));
      const results = await Promise.all(burst);
      expect(results.filter((r) => r === true).length).toBeGreaterThan(0);
      expect(results.filter((r) => r instanceof PasswordHashingBusy).length).toBeGreaterThan(0);
      expect(results.filter((r) => r === false)).toEqual([]);
      await expect(busy.hash('x'.repeat(20)).catch((e) => e)).resolves.toMatch(/^\$argon2id/);
    } finally {
      await busy.onApplicationShutdown();
    }
  });

  it('says busy, not "wrong password", when the pool cannot hash at all', async () => {
    const closed = new Argon2PasswordHasher({ passwordHashQueueLimit: 8 } as AppConfig);
    await closed.onApplicationShutdown();
    await expect(closed.verify('$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA', 'a password here')).rejects.toBeInstanceOf(PasswordHashingBusy);
    await expect(closed.hash('a password here')).rejects.toBeInstanceOf(PasswordHashingBusy);
  });

  it('hashes on threads of lower priority than the event loop, which keeps its own', async () => {
    await hasher.hash('warm the pool up');
    const ids = await hasher.pool.nicedThreadIds();
    expect(ids.length).toBeGreaterThan(0);
    for (const tid of ids) expect(niceOf(tid)).toBe(Math.min(19, baseNice + HASHING_THREAD_NICE));
    // Only the hashing threads: the event loop's thread keeps the priority it had.
    expect(niceOf(process.pid)).toBe(baseNice);
  });
});

describe('HashingPool', () => {
  it('runs at most its size at once and queues the rest, first come first served', async () => {
    const pool = new HashingPool(1, ARGON2_PARAMS, 8);
    try {
      const order: number[] = [];
      const tasks = [0, 1, 2].map((i) => pool.run<string>({ op: 'hash', password: `password number ${i}` }).then((h) => (order.push(i), h)));
      expect(pool.waiting).toBe(2);
      const hashes = await Promise.all(tasks);
      expect(order).toEqual([0, 1, 2]);
      expect(new Set(hashes).size).toBe(3);
      expect(pool.waiting).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('past its waiting limit, fails at once with HashingQueueFull and leaves the queue as it was', async () => {
    const pool = new HashingPool(1, ARGON2_PARAMS, 1);
    try {
      const running = pool.run<string>({ op: 'hash', password: 'running password' });
      const waiting = pool.run<string>({ op: 'hash', password: 'waiting password' });
      await expect(pool.run({ op: 'hash', password: 'one too many' })).rejects.toBeInstanceOf(HashingQueueFull);
      expect(pool.waiting).toBe(1);
      await expect(Promise.all([running, waiting])).resolves.toHaveLength(2);
      await expect(pool.run<string>({ op: 'hash', password: 'room again now' })).resolves.toMatch(/^\$argon2id\$/);
    } finally {
      await pool.close();
    }
  });

  it('fails the task of a thread that dies, and carries on with a new thread', async () => {
    const pool = new HashingPool(1, ARGON2_PARAMS, 8);
    try {
      const first = pool.run<string>({ op: 'hash', password: 'first password here' });
      const second = pool.run<string>({ op: 'hash', password: 'second password here' });
      const [tid] = await pool.nicedThreadIds();
      expect(tid).toBeGreaterThan(0);
      await (pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0].worker.terminate();
      await expect(first).rejects.toBeInstanceOf(HashingUnavailable);
      await expect(second).resolves.toMatch(/^\$argon2id\$/);
    } finally {
      await pool.close();
    }
  });

  it('refuses work once closed and fails what was waiting', async () => {
    const pool = new HashingPool(1, ARGON2_PARAMS, 8);
    const outcome = (p: Promise<unknown>) => p.then(() => 'done', (e: Error) => e.message);
    const running = outcome(pool.run({ op: 'hash', password: 'running password' }));
    const waiting = outcome(pool.run({ op: 'hash', password: 'waiting password' }));
    await pool.close();
    await expect(waiting).resolves.toMatch(/closed/);
    await expect(running).resolves.toMatch(/exited/);
    await expect(pool.run({ op: 'hash', password: 'too late' })).rejects.toThrow(/closed/);
  });
});
