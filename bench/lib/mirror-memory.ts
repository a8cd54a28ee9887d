import { spawnSync } from 'node:child_process';
import { ROOT } from './stack.js';

/**
 * Bytes of heap per entry of the denylist mirror, measured in a fresh Node process with a forced
 * GC before and after: `n` revoked jti (uuids, as access tokens carry) added to a DenylistMemory.
 */
export function mirrorBytesPerEntry(n: number): { entries: number; heapDeltaBytes: number; bytesPerEntry: number } {
  const script = `
    const { DenylistMemory } = await import(${JSON.stringify(`${ROOT}/dist/src/revocation/mirror/denylist-memory.js`)});
    const { randomUUID } = await import('node:crypto');
    const subjects = Array.from({ length: ${n} }, () => randomUUID());
    globalThis.gc(); globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    const m = new DenylistMemory();
    const until = Date.now() + 900_000;
    for (let i = 0; i < subjects.length; i++) m.add({ kind: 'jti', subject: subjects[i], untilMs: until + (i % 900) * 1000 });
    globalThis.gc(); globalThis.gc();
    const after = process.memoryUsage().heapUsed;
    process.stdout.write(JSON.stringify({ entries: m.size, heapDeltaBytes: after - before }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`mirror memory probe failed: ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout) as { entries: number; heapDeltaBytes: number };
  return { ...out, bytesPerEntry: Math.round((out.heapDeltaBytes / out.entries) * 10) / 10 };
}
