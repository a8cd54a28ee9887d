import { type LoadFigures, contention, measure, problems } from '../lib/load.js';
import { clientHeaders, createClient, createUser, login, tokenRequest } from '../lib/oauth.js';
import { provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { r1, round } from '../lib/stats.js';
import type { Row, Scenario } from '../lib/types.js';

const hasAccessToken = (body: string) => body.includes('"access_token":"');

function row(grant: string, f: LoadFigures, serverCores: string): Row {
  return {
    grant,
    'req/s': f.requestsPerSecond,
    'p50 ms': f.latencyMs.p50,
    'p99 ms': f.latencyMs.p99,
    'non-2xx': f.non2xx,
    errors: f.errors,
    'server cores': f.cpu.serverCores,
    'server on core': serverCores,
    'server µs CPU/req': f.serverCpuMicrosPerRequest,
    'db+redis cores': f.cpu.storeCores,
    'foreign cores': f.cpu.foreignCores,
  };
}

/**
 * POST /oauth/token throughput: client_credentials (HTTP Basic) and refresh_token.
 *
 * Refresh tokens rotate on every use and a reused one revokes its session, so every refresh request
 * carries a never-used token: a pool of sessions is made with password grants first, each request
 * takes one token out of the pool and its response puts the rotated successor back (one chain per
 * connection, as pipelining is 1). A run's last in-flight requests lose their successors, so the
 * pool starts with one token per connection per run, plus spares.
 */
export const grants: Scenario = {
  name: 'grants',
  description: 'POST /oauth/token throughput: client_credentials and refresh_token (rotating)',
  async run({ settings, log }) {
    const { duration, warmup, connections } = settings;
    const stores = await provisionStores();
    try {
      log(`stores: ${stores.description}`);
      const server = await startServer({ stores });
      try {
        log(`server: ${serverInfo(server)}`);
        const client = createClient(server);
        const user = createUser(server);
        const headers = clientHeaders(client);
        await tokenRequest(server, client, { grant_type: 'client_credentials' }); // sanity check

        log(`client_credentials: ${warmup}s warm-up + ${duration}s, ${connections} connections`);
        const cc = await measure({
          server,
          title: 'client_credentials',
          connections,
          duration,
          warmup,
          request: { method: 'POST', path: '/oauth/token', headers, body: 'grant_type=client_credentials' },
          verifyBody: hasAccessToken,
        });

        const runs = warmup > 0 ? 2 : 1;
        const sessions = connections * (runs + 1) + 16;
        log(`refresh_token: making ${sessions} sessions with password grants`);
        const t0 = performance.now();
        const logins = await login(server, client, user, { count: sessions, parallel: 4, timeoutMs: 180_000 });
        const loginSeconds = (performance.now() - t0) / 1000;
        const pool = logins.map((t) => t.refresh_token!);
        let exhausted = 0;
        let rotated = 0;

        log(`refresh_token: ${warmup}s warm-up + ${duration}s, ${connections} connections`);
        const refresh = await measure({
          server,
          title: 'refresh_token',
          connections,
          duration,
          warmup,
          request: {
            method: 'POST',
            path: '/oauth/token',
            headers,
            setupRequest: (req) => {
              let token = pool.shift();
              if (token === undefined) {
                exhausted++;
                token = 'pool-exhausted'; // answered 400: fails the run loudly
              }
              return { ...req, body: `grant_type=refresh_token&refresh_token=${token}` };
            },
            onResponse: (status, body) => {
              if (status !== 200) return;
              const next = /"refresh_token":"([A-Za-z0-9_-]+)"/.exec(body)?.[1];
              if (next) {
                pool.push(next);
                rotated++;
              }
            },
          },
          verifyBody: (body) => hasAccessToken(body) && body.includes('"refresh_token":"'),
        });

        const failures = [...problems('client_credentials', cc), ...problems('refresh_token', refresh)];
        if (exhausted) failures.push(`refresh_token: the token pool ran dry ${exhausted} times`);
        return {
          settings: { duration, warmup, connections, pipelining: 1, stores: stores.description, refreshSessions: sessions },
          figures: {
            client_credentials: cc,
            refresh_token: { ...refresh, rotated, poolLeft: pool.length },
            passwordLoginsForSetup: { logins: logins.length, seconds: round(loginSeconds, 2), perSecond: r1(logins.length / loginSeconds), parallel: 4 },
          },
          table: [row('client_credentials', cc, server.cores), row('refresh_token', refresh, server.cores)],
          failures,
          notes: [
            `stores: ${stores.description}`,
            `setup: ${logins.length} password logins in ${loginSeconds.toFixed(1)} s (${(logins.length / loginSeconds).toFixed(0)}/s, 4 in parallel; argon2id-bound)`,
            '"server cores": CPU of the server process (with PGlite, the database runs in it too); "db+redis cores": local postgres and redis-server processes; "foreign cores": anything else',
            ...contention('client_credentials', cc),
            ...contention('refresh_token', refresh),
          ],
        };
      } finally {
        await server.stop();
      }
    } finally {
      await stores.dispose();
    }
  },
};
