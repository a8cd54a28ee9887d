import { measurePaced } from '../lib/load.js';
import { bearerAt, bearers, createClient, createUsers, hasSubject, loginEach } from '../lib/oauth.js';
import { connectRedis } from '../lib/redis.js';
import { standAside } from '../lib/result.js';
import { provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { r1 } from '../lib/stats.js';
import type { Row, Scenario } from '../lib/types.js';

/** The steady protected-request rate, req/s, and how long it is held. */
const RATE = 500;
const SECONDS = 10;
const USERS = 8;

/** Redis's own count of commands, by command (INFO commandstats). */
async function commandCounts(redis: Awaited<ReturnType<typeof connectRedis>>): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]).filter(([, n]) => (n as number) > 0)) as Record<string, number>;

/**
 * What a steady rate of protected requests costs Redis, with the denylist mirror (the default) and
 * with the per-request MGET (REVOCATION_CHECK=redis): Redis commands per second while one server
 * answers RATE req/s of GET /userinfo, and nothing is revoked. With the mirror the figure is the
 * feed reads and lease renewals (about 50 commands/s per instance, script internals included), whatever the request rate.
 */
export const redisLoad: Scenario = {
  name: 'redis-load',
  description: `Redis commands per second at ${RATE} protected req/s, with the denylist mirror and with REVOCATION_CHECK=redis`,
  async run({ log }) {
    if (!process.env.REDIS_URL) {
      const reason = 'REDIS_URL is unset: no Redis to count commands on';
      log(`redis-load stands aside: ${reason}`);
      return standAside(reason, { requires: ['REDIS_URL'] });
    }
    const redis = await connectRedis(process.env.REDIS_URL);
    const table: Row[] = [];
    const figures: Record<string, unknown> = {};
    const failures: string[] = [];
    try {
      for (const mode of ['mirror', 'redis'] as const) {
        const stores = await provisionStores();
        try {
          const server = await startServer({ stores, env: { REVOCATION_CHECK: mode } });
          try {
            log(`${mode}: ${serverInfo(server)}`);
            const client = createClient(server);
            const tokens = await loginEach(server, client, createUsers(server, USERS));
            const idleBefore = await commandCounts(redis);
            await new Promise((r) => setTimeout(r, SECONDS * 1000));
            const idle = diff(idleBefore, await commandCounts(redis));
            const before = await commandCounts(redis);
            const started = performance.now();
            const paced = await measurePaced({ server, title: `userinfo ${mode}`, rate: RATE, duration: SECONDS, request: bearerAt('/userinfo', bearers(tokens)), verifyBody: hasSubject });
            const seconds = (performance.now() - started) / 1000;
            const busy = diff(before, await commandCounts(redis));
            const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
            const perSecondBusy = r1(total(busy) / seconds);
            const perSecondIdle = r1(total(idle) / SECONDS);
            if (paced.non2xx || paced.errors) failures.push(`${mode}: ${paced.non2xx} non-2xx, ${paced.errors} errors`);
            table.push({ check: mode, 'req/s': r1(paced.requestsPerSecond), 'Redis cmd/s at that rate': perSecondBusy, 'Redis cmd/s idle': perSecondIdle, 'per request': r1(perSecondBusy / paced.requestsPerSecond), 'p50 ms': paced.latencyMs.p50, 'p99 ms': paced.latencyMs.p99 });
            figures[mode] = { requestsPerSecond: paced.requestsPerSecond, redisCommandsPerSecond: perSecondBusy, idleRedisCommandsPerSecond: perSecondIdle, busy, idle, latency: paced.latencyMs };
          } finally {
            await server.stop();
          }
        } finally {
          await stores.dispose();
        }
      }
    } finally {
      redis.disconnect();
    }
    return {
      settings: { rate: RATE, seconds: SECONDS, users: USERS },
      figures,
      table,
      failures,
      notes: [
        'Redis commands counted by INFO commandstats over the whole Redis: other clients of the same Redis (tests, other benches) add to both figures',
        'with the mirror, Redis load grows with revocations (one MULTI + one feed read and one renewal per instance each) and with instances (about 50 commands/s each as INFO commandstats counts them: the feed read, the lease-renewal script and the commands it runs), not with requests',
      ],
    };
  },
};
