import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether this machine can start a Redis Cluster (redis-server and redis-cli on the PATH). */
export const canStartCluster = () => spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;

/** A port that is free, and whose cluster bus port (+10000) is free too. */
async function clusterPort(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if ((await free(port)) && (await free(port + 10000))) return port;
  }
}

export interface RedisCluster {
  ports: number[];
  /** `redis-cluster://127.0.0.1:<first>?seed=127.0.0.1:<second>&seed=...` */
  url: string;
  stop(): Promise<void>;
}

/**
 * Three masters on loopback ports, nothing kept on disk, joined with `redis-cli --cluster create`;
 * resolves once the cluster says `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'lk-cluster-'));
  const ports: number[] = [];
  const servers: ChildProcess[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await clusterPort();
    ports.push(port);
    servers.push(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
    );
  }
  const cli = (args: string[]) => spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 30_000 });
  const until = Date.now() + 15_000;
  for (const port of ports) while (cli(['-p', String(port), 'ping']).stdout.trim() !== 'PONG' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const created = cli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  while (!ports.every((p) => cli(['-p', String(p), 'cluster', 'info']).stdout.includes('cluster_state:ok'))) {
    if (Date.now() > until + 15_000) throw new Error('the Redis Cluster did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ports,
    url: `redis-cluster://127.0.0.1:${ports[0]}?${ports.slice(1).map((p) => `seed=127.0.0.1:${p}`).join('&')}`,
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((done) => (s.exitCode !== null ? done() : (s.once('exit', () => done()), s.kill('SIGTERM'))))));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
