import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import type { Placement } from './machine.js';
import { ROOT, type Server, freePort, serverNodeArgs } from './stack.js';

export interface PeerOptions {
  /** Latchkey's base URL: the peer's JWKS source, and its expected `iss` and `aud`. */
  latchkeyUrl: string;
  /** Where the peer runs (the scenario passes the runner's placement: core 0, like Latchkey). */
  placement: Placement;
  /** PEER_KEYS: 'jwks-rsa' (the tutorial way, default) or 'keyobject' (KeyObjects built once at start-up). */
  keys?: 'jwks-rsa' | 'keyobject';
  readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

export interface Peer extends Server {
  /** With the runner's --profile: where the peer writes its .cpuprofile when it stops. */
  profileDir?: string;
}

/**
 * Starts the peer (`node dist/bench/peer/main.js`: the typical stateless NestJS service, see
 * bench/peer/main.ts) in its own process, pinned like a server, NODE_ENV=production, on 127.0.0.1.
 * Ready when `GET /me` without a token answers 401. Killed at the end of the run whatever happens.
 * With the runner's --profile it runs with --cpu-prof too, into `<profile dir>/peer-<keys>/` (kept apart
 * from Latchkey's profiles, which the runner prints by Latchkey's measured windows).
 */
export async function startPeer(o: PeerOptions): Promise<Peer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LATCHKEY_URL: o.latchkeyUrl,
    PEER_KEYS: o.keys ?? 'jwks-rsa',
  };
  const profiling = serverNodeArgs().find((a) => a.startsWith('--cpu-prof-dir='));
  const profileDir = profiling ? join(profiling.slice('--cpu-prof-dir='.length), `peer-${o.keys ?? 'jwks-rsa'}`) : undefined;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const [cmd, ...prefixArgs] = [...o.placement.serverPrefix, process.execPath];
  const child = spawn(cmd, [...prefixArgs, ...nodeArgs, 'dist/bench/peer/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let stopping = false;
  const stop = onCleanup(`stop peer pid ${child.pid}`, () => {
    stopping = true;
    return stopChild(child);
  });
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench: peer pid ${child.pid} (${url}) exited unexpectedly (${code ?? signal}); its last output:\n${out.slice(-3000)}\n`);
  });
  try {
    await new Promise<void>((done, fail) => {
      child.once('spawn', done);
      child.once('error', fail);
    });
    const until = Date.now() + (o.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the peer exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      if (Date.now() > until) throw new Error(`the peer was not ready within ${o.readyTimeoutMs ?? 60_000} ms`);
      try {
        const res = await fetch(`${url}/me`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 401) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- peer output ---\n${out.slice(-4000)}`);
  }
  return {
    url,
    port,
    pid: child.pid!,
    cores: o.placement.serverCores,
    env,
    profileDir,
    output: () => out,
    cli(): never {
      throw new Error('the peer has no CLI');
    },
    stop,
  };
}
