import { HASHING_THREAD_NICE } from '../../src/infra/crypto/hashing-pool.js';
import { type GeneratorCheck, type PacedFigures, contention, measure, measurePaced, measuredWindows, pacedRateOf, problems, startAutocannon } from '../lib/load.js';
import { bearerAt, bearers, clientHeaders, createClient, createUser, createUsers, hasSubject, loginEach, passwordGrant, roundRobinBearer, tokenRequest } from '../lib/oauth.js';
import { turns } from '../lib/result.js';
import { type Server, provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { type LatencyMs, medianOf, r1, r3, summarize } from '../lib/stats.js';
import { sleep } from '../lib/time.js';
import type { Row, Scenario } from '../lib/types.js';

/** Rounds of (calm, storm): odd, for a true median. */
const ROUNDS = 3;
/** The steady load on the protected route, as a share of its measured saturated req/s. */
const RATE_SHARE = 0.5;
/** Connections of the login storm (password grants, each an argon2id verify): enough to keep hashing saturated. */
const STORM_CONNECTIONS = 32;
/** Users whose access tokens the steady load uses, round-robin. */
const USERS = 8;
/** Seconds of the capacity probe (saturated) that sets the steady rate. */
const PROBE_SECONDS = 5;
/** The goal: the protected route's p99 during a login storm at most twice its p99 without. */
const GOAL_P99_FACTOR = 2;
/** Keep-alive connections of the steady load; requests due while all are busy wait for one (and that wait is counted). */
const STEADY_SOCKETS = 64;
/** Requests of the steady load outstanding at most (sent or waiting for a connection); past it they are dropped (counted). */
const STEADY_MAX_OUTSTANDING = 4096;

interface LoginFigures {
  /** 200 answers received inside the measured window. */
  ok: number;
  perSecond: number;
  latencyMs: LatencyMs;
  statusCodes: Record<string, number>;
  errors: number;
  /** Over the hammer's whole life (warm-up and drain included). */
  total: number;
}

interface Phase {
  round: number;
  phase: 'calm' | 'storm';
  steady: SteadyFigures;
  logins?: LoginFigures;
}

/**
 * The steady load's figures: `dropped` counts the requests never sent (STEADY_MAX_OUTSTANDING
 * were already outstanding), and the generator reports its own timing.
 */
type SteadyFigures = PacedFigures & GeneratorCheck;

/**
 * A login storm: `connections` keep-alive connections sending password grants back to back (each
 * a real argon2id verify, a new session and a refresh token), until stopped. Every answer is timed.
 */
function startStorm(server: Server, headers: Record<string, string>, body: string, connections: number, maxSeconds: number) {
  const answers: { at: number; status: number; ms: number }[] = [];
  let errors = 0;
  const { instance, done } = startAutocannon(
    { server, title: 'login storm', connections, duration: maxSeconds, timeout: 30, request: { method: 'POST', path: '/oauth/token', headers, body } },
    (status, ms) => {
      if (answers.length < 1_000_000) answers.push({ at: performance.now(), status, ms });
    },
  );
  instance.on('reqError', () => void errors++);
  return {
    /** The answers received between two instants (performance.now()). */
    window(from: number, to: number): LoginFigures {
      const inside = answers.filter((a) => a.at >= from && a.at <= to);
      const statusCodes: Record<string, number> = {};
      for (const a of inside) statusCodes[a.status] = (statusCodes[a.status] ?? 0) + 1;
      const ok = inside.filter((a) => a.status === 200);
      return {
        ok: ok.length,
        perSecond: r1(ok.length / ((to - from) / 1000)),
        latencyMs: summarize(ok.map((a) => a.ms)),
        statusCodes,
        errors,
        total: answers.length,
      };
    },
    async stop(): Promise<void> {
      instance.stop();
      await done;
    },
  };
}

/**
 * Does a burst of password logins (argon2id, on hashing threads that share the server's core)
 * hurt the protected route? `GET /userinfo` under a steady, moderate, open-loop load (a fixed
 * schedule at RATE_SHARE of the route's measured maximum, so its latency is the request's own and
 * not queueing), first calm, then while a second generator hammers `POST /oauth/token` password
 * grants with STORM_CONNECTIONS connections; ROUNDS times (calm, storm), medians compared.
 */
export const storm: Scenario = {
  name: 'storm',
  description: 'GET /userinfo at a steady rate (50% of max), calm vs during a password-login storm (32 connections of argon2id)',
  async run({ settings, placement, log }) {
    const { duration, warmup, connections } = settings;
    const stores = await provisionStores();
    try {
      log(`stores: ${stores.description}`);
      const server = await startServer({ stores, env: { ACCESS_TOKEN_TTL: '3600' } });
      try {
        log(`server: ${serverInfo(server)}`);
        const client = createClient(server);
        const auths = bearers(await loginEach(server, client, createUsers(server, USERS)));
        // The storm's own client and user, so its sessions touch nobody the steady load uses.
        const stormClient = createClient(server, 'storm');
        const stormUser = createUser(server);
        await tokenRequest(server, stormClient, passwordGrant(stormUser));
        const stormBody = new URLSearchParams(passwordGrant(stormUser)).toString();
        const verifyBody = hasSubject;

        log(`capacity: ${warmup}s warm-up + ${PROBE_SECONDS}s saturated, ${connections} connections`);
        const capacity = await measure({
          server,
          title: 'userinfo capacity',
          connections,
          duration: PROBE_SECONDS,
          warmup,
          request: roundRobinBearer('/userinfo', auths),
          verifyBody,
        });
        const failures = problems('capacity', capacity);
        const rate = pacedRateOf(capacity.requestsPerSecond, RATE_SHARE);
        // Open loop over STEADY_SOCKETS connections: a request due while all are busy waits (up to
        // STEADY_MAX_OUTSTANDING outstanding), and its latency counts the wait.
        const steady = (title: string, seconds: number) =>
          measurePaced({ server, title, rate, duration: seconds, request: bearerAt('/userinfo', auths), verifyBody, maxOutstanding: STEADY_MAX_OUTSTANDING, graceSeconds: 30, selfCheck: true });

        const phases: Phase[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
          log(`round ${round} calm: GET /userinfo at ${rate} req/s, ${warmup}s warm-up + ${duration}s`);
          if (warmup) {
            await steady(`calm round ${round} (warm-up)`, warmup);
            measuredWindows.pop();
          }
          const calm = await steady(`userinfo calm round ${round}`, duration);
          failures.push(...problems(`round ${round} calm`, calm));
          phases.push({ round, phase: 'calm', steady: calm });

          log(`round ${round} storm: the same, while ${STORM_CONNECTIONS} connections send password grants`);
          const hammer = startStorm(server, clientHeaders(stormClient), stormBody, STORM_CONNECTIONS, warmup + duration + 60);
          try {
            // The storm's own warm-up: hashing saturated and the steady load running before measuring.
            await steady(`storm round ${round} (warm-up)`, Math.max(2, warmup));
            measuredWindows.pop();
            const from = performance.now();
            const during = await steady(`userinfo storm round ${round}`, duration);
            const logins = hammer.window(from, performance.now());
            failures.push(...problems(`round ${round} storm`, during));
            if (!logins.ok) failures.push(`round ${round} storm: no successful login during the measured window`);
            const bad = Object.entries(logins.statusCodes).filter(([code]) => code !== '200');
            if (bad.length) failures.push(`round ${round} storm: login answers other than 200: ${JSON.stringify(Object.fromEntries(bad))}`);
            phases.push({ round, phase: 'storm', steady: during, logins });
          } finally {
            await hammer.stop();
          }
          await sleep(1000); // the logins queued in the server drain before the next calm phase
        }

        const of = (p: Phase['phase']) => phases.filter((x) => x.phase === p);
        const med = (p: Phase['phase'], pick: (x: Phase) => number | null | undefined) => medianOf(of(p).map(pick));
        const summary = (p: Phase['phase']) => ({
          requestsPerSecond: r1(med(p, (x) => x.steady.requestsPerSecond)!),
          p50Ms: r3(med(p, (x) => x.steady.latencyMs.p50)!),
          p99Ms: r3(med(p, (x) => x.steady.latencyMs.p99)!),
          maxMs: r3(med(p, (x) => x.steady.latencyMs.max)!),
          dropped: med(p, (x) => x.steady.dropped ?? 0),
          serverCores: med(p, (x) => x.steady.cpu.serverCores),
          storeCores: med(p, (x) => x.steady.cpu.storeCores),
          foreignCores: med(p, (x) => x.steady.cpu.foreignCores),
          loginsPerSecond: med(p, (x) => x.logins?.perSecond),
          loginP50Ms: med(p, (x) => x.logins?.latencyMs.p50),
          loginP99Ms: med(p, (x) => x.logins?.latencyMs.p99),
        });
        const calmM = summary('calm');
        const stormM = summary('storm');
        const factor = r3(stormM.p99Ms / calmM.p99Ms);
        const perRound = Array.from({ length: ROUNDS }, (_, i) => {
          const c = phases.find((x) => x.round === i + 1 && x.phase === 'calm')!;
          const s = phases.find((x) => x.round === i + 1 && x.phase === 'storm')!;
          return { round: i + 1, calmP99Ms: c.steady.latencyMs.p99, stormP99Ms: s.steady.latencyMs.p99, factor: r3(s.steady.latencyMs.p99 / c.steady.latencyMs.p99) };
        });
        const dropped = phases.reduce((n, x) => n + (x.steady.dropped ?? 0), 0);
        const met = factor <= GOAL_P99_FACTOR && !phases.some((x) => x.phase === 'storm' && (x.steady.dropped ?? 0) > 0);

        const row = (label: string, phase: string, f: { rps: number; p50: number; p99: number; max: number; dropped: number | null; cores: number | null; store: number | null; foreign: number | null; logins: number | null | undefined; lp50: number | null | undefined; lp99: number | null | undefined }): Row => ({
          round: label,
          phase,
          'userinfo req/s': f.rps,
          'p50 ms': f.p50,
          'p99 ms': f.p99,
          'max ms': f.max,
          dropped: f.dropped,
          'server cores': f.cores,
          'logins/s': f.logins ?? null,
          'login p50 ms': f.lp50 ?? null,
          'login p99 ms': f.lp99 ?? null,
          'db+redis cores': f.store,
          'foreign cores': f.foreign,
        });
        const fromPhase = (x: Phase) => ({
          rps: x.steady.requestsPerSecond,
          p50: x.steady.latencyMs.p50,
          p99: x.steady.latencyMs.p99,
          max: x.steady.latencyMs.max,
          dropped: x.steady.dropped ?? 0,
          cores: x.steady.cpu.serverCores,
          store: x.steady.cpu.storeCores,
          foreign: x.steady.cpu.foreignCores,
          logins: x.logins?.perSecond,
          lp50: x.logins?.latencyMs.p50,
          lp99: x.logins?.latencyMs.p99,
        });
        const fromSummary = (m: typeof calmM) => ({ rps: m.requestsPerSecond, p50: m.p50Ms, p99: m.p99Ms, max: m.maxMs, dropped: m.dropped, cores: m.serverCores, store: m.storeCores, foreign: m.foreignCores, logins: m.loginsPerSecond, lp50: m.loginP50Ms, lp99: m.loginP99Ms });
        const table: Row[] = [
          ...phases.map((x) => row(String(x.round), x.phase, fromPhase(x))),
          row('median', 'calm', fromSummary(calmM)),
          row('median', 'storm', fromSummary(stormM)),
        ];
        const notes = [
          `goal: GET /userinfo p99 during the storm ÷ without = ${factor} (median p99 ${stormM.p99Ms} ms vs ${calmM.p99Ms} ms; goal ≤ ${GOAL_P99_FACTOR}: ${met ? 'met' : 'MISSED'}); per round: ${perRound.map((p) => `${p.round}: ${p.stormP99Ms}/${p.calmP99Ms} = ${p.factor}`).join('; ')}`,
          `steady load: ${rate} req/s on a fixed schedule (open loop over ${STEADY_SOCKETS} keep-alive connections; a request due while all are busy waits, and the wait counts in its latency), ${RATE_SHARE * 100}% of the measured maximum ${capacity.requestsPerSecond} req/s (${PROBE_SECONDS}s saturated, ${connections} connections); ${auths.length} users' tokens round-robin`,
          `storm: ${STORM_CONNECTIONS} keep-alive connections of password grants back to back (argon2id m=19 MiB t=2 p=1 verify, new session, refresh token), its own client and user; login figures are the 200s answered inside the measured window`,
          `server pinned to core ${server.cores} (its threads too, so argon2 shares the core with the event loop; availableParallelism() is 1 there, so Latchkey's hashing pool runs one hash at a time, on a worker thread at nice ${HASHING_THREAD_NICE}); both load generators in the bench process on core ${placement.loadCores}`,
          stores.redis ? `stores: ${stores.description} (revocation check on, as shipped)` : `!! REDIS_URL is unset: stores: ${stores.description}`,
          ...(stores.database === 'pglite' ? ['embedded PGlite runs inside the server process: each login\'s session and refresh-token writes take the server\'s core too'] : []),
          ...(dropped
            ? [`!! ${dropped} steady requests were never sent (${STEADY_MAX_OUTSTANDING} already outstanding): the p99 of those phases counts only what was sent, a lower bound; see "dropped"`]
            : []),
          `the load generator's own event-loop delay (its timing error), worst phase: p99 ${Math.max(...phases.map((x) => x.steady.generatorLoopDelayMs.p99))} ms, max ${Math.max(...phases.map((x) => x.steady.generatorLoopDelayMs.max))} ms; sends > 2 ms late: ${phases.map((x) => `${x.round} ${x.phase} ${x.steady.lateSends}`).join(', ')}`,
          ...phases.flatMap((x) => contention(`round ${x.round} ${x.phase}`, x.steady)),
        ];
        if (!met) notes.push(`!! goal missed: storm p99 is ${factor}x the calm p99 (goal ≤ ${GOAL_P99_FACTOR}x)${dropped ? ', and the storm made the steady load fall behind (dropped requests)' : ''}`);
        return {
          settings: {
            duration,
            warmup,
            connections,
            rounds: ROUNDS,
            order: turns(['calm', 'storm'], ROUNDS),
            steadyRate: rate,
            rateShare: RATE_SHARE,
            capacityProbeSeconds: PROBE_SECONDS,
            stormConnections: STORM_CONNECTIONS,
            users: USERS,
            stores: stores.description,
            cores: { server: server.cores, load: placement.loadCores, storm: placement.loadCores },
            goal: `storm p99 ≤ ${GOAL_P99_FACTOR} × calm p99`,
          },
          figures: {
            capacity,
            phases: phases.map((x) => ({ round: x.round, phase: x.phase, steady: x.steady, ...(x.logins ? { logins: x.logins } : {}) })),
            median: { calm: calmM, storm: stormM },
            comparison: { p99Factor: factor, goalP99Factor: GOAL_P99_FACTOR, met, droppedSteadyRequests: dropped, perRound },
          },
          table,
          failures,
          notes,
        };
      } finally {
        await server.stop();
      }
    } finally {
      await stores.dispose();
    }
  },
};
