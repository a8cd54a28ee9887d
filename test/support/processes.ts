import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** The environment of a fresh machine: none of Latchkey's settings, whatever this run has. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info' };
  return { ...env, ...extra };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['dist/src/cli.js', ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Service {
  child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

export function startService(env: NodeJS.ProcessEnv): Service {
  const child = spawn(process.execPath, ['dist/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
        child.once('exit', (code) => done(code));
        child.kill('SIGTERM');
      }),
  };
}

/** Polls `url` until it answers `status`, or gives up after `ms`. */
export async function waitFor(url: string, status: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).status === status) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

export function exitOf(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

/**
 * `runCli` without blocking this process: the app under test runs in it. spawnSync would freeze the
 * app mid-request; on the embedded PGlite a transaction frozen that way holds the database's one
 * session, and the CLI's connection times out waiting for it.
 */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<ReturnType<typeof runCli>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/src/cli.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
