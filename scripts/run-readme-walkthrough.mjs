#!/usr/bin/env node
// Runs the README's walk-through line by line, as a reader would: a fresh `npm start` on the
// embedded default (its own DATA_DIR and port), then the shell block between the
// `walkthrough:start` / `walkthrough:end` markers, in bash with `set -euo pipefail`. Passes when
// every line succeeded and the locked user's token was refused (401) after the lock.
// Needs `npm run build` first (npm start and the CLI build again anyway).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)?.[1];
if (!block) throw new Error('README.md has no walkthrough block');

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'latchkey-walkthrough-'));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), DATA_DIR: join(dir, 'data'), LATCHKEY: `http://127.0.0.1:${port}` };
const service = spawn('node', ['--enable-source-maps', 'dist/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let log = '';
service.stdout.on('data', (d) => (log += d));
service.stderr.on('data', (d) => (log += d));
let code = 1;
try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline || service.exitCode !== null) throw new Error(`the service did not become ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  const run = spawnSync('bash', ['-c', `set -euo pipefail\n${block}`], { env, encoding: 'utf8', timeout: 120_000 });
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  const lines = run.stdout.trim().split('\n');
  const refused = lines.includes('401');
  const signInRefused = /"error":"invalid_grant"/.test(lines.at(-1) ?? '');
  if (run.status !== 0) console.error(`the walk-through failed (exit ${run.status})`);
  else if (!refused || !signInRefused) console.error('the walk-through ran, but the locked user was not refused');
  else {
    console.log('README walk-through: every line ran; the lock refused the token (401) and the sign-in (invalid_grant)');
    code = 0;
  }
} finally {
  try {
    process.kill(-service.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await new Promise((r) => setTimeout(r, 1000));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
