import { join } from 'node:path';
import type { Placement } from './machine.js';
import { type Server, serverNodeArgs, spawnService } from './stack.js';

export interface PeerOptions {
  /** Latchkey's base URL: the peer's JWKS source, and its expected `iss` and `aud`. */
  latchkeyUrl: string;
  /** Where the peer runs (the scenario passes the runner's placement: core 0, like Latchkey). */
  placement: Placement;
  /** PEER_KEYS: 'jwks-rsa' (the tutorial way, default) or 'keyobject' (KeyObjects built once at start-up). */
  keys?: 'jwks-rsa' | 'keyobject';
  readyTimeoutMs?: number;
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
  const keys = o.keys ?? 'jwks-rsa';
  const profiling = serverNodeArgs().find((a) => a.startsWith('--cpu-prof-dir='));
  const profileDir = profiling ? join(profiling.slice('--cpu-prof-dir='.length), `peer-${keys}`) : undefined;
  const service = await spawnService({
    label: 'peer',
    script: 'dist/bench/peer/main.js',
    env: () => ({ LATCHKEY_URL: o.latchkeyUrl, PEER_KEYS: keys }),
    placement: o.placement,
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    ready: { path: '/me', status: 401 },
    readyTimeoutMs: o.readyTimeoutMs,
  });
  return {
    ...service,
    profileDir,
    cli(): never {
      throw new Error('the peer has no CLI');
    },
  };
}
