import { withProbe } from '../lib/http.js';
import { type LoadFigures, contention, measure, measurePaced, pacedRateOf, problems } from '../lib/load.js';
import { type TokenResponse, bearerAt, bearers, createClient, createUsers, hasSubject, loginEach, revokedAccessToken, roundRobinBearer } from '../lib/oauth.js';
import { waitForQuiet } from '../lib/machine.js';
import { logProblems, turns } from '../lib/result.js';
import { type Server, provisionStores, startServer } from '../lib/stack.js';
import { medianOf, r1, r3 } from '../lib/stats.js';
import type { Row, Scenario } from '../lib/types.js';

/** Rounds of each variant, run A B A B …: an odd count has a true median; 5 because rounds on a shared 2-core machine vary. */
const ROUNDS = 5;
/** More rounds, up to this many, while fewer than MIN_CLEAN rounds of a variant ran undisturbed. */
const MAX_ROUNDS = 9;
/** The paced runs' rate, as a share of round 1 A's saturated req/s: well below either variant's capacity. */
const PACED_SHARE = 0.2;
/** Users logged in once each; their access tokens are spread over the connections. */
const USERS = 8;
/** The goals the brief sets for the check's cost. */
const GOAL_RATIO = 0.95;
const GOAL_P99_MS = 0.3;
/** A round during which other processes used this many cores or more is "busy". */
const FOREIGN_LIMIT = 0.2;
/** Undisturbed rounds of each variant needed to compare on those alone. */
const MIN_CLEAN = 3;

type Variant = 'A' | 'B';
const LABEL: Record<Variant, string> = { A: 'check on (as shipped)', B: 'check off (bench-only)' };
const SKIP_WARNING = 'BENCH_SKIP_REVOCATION_CHECK is on';

interface RoundResult {
  round: number;
  variant: Variant;
  pid: number;
  figures: LoadFigures;
  /** The same load paced at a fixed rate below saturation: latency without the queueing. */
  paced: LoadFigures;
  /** The revoked spare token on this server: 401 with the check, 200 without (proves the switch). */
  revokedTokenStatus: number;
  /** Cores busy on the machine just before the round (other sessions' work skews a round). */
  busyBefore: number | null;
  /** Why the round's load runs are not to be trusted (non-2xx, errors), or []. */
  problems: string[];
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  cpu: number | null;
  serverCores: number | null;
  store: number | null;
  foreign: number | null;
  pacedP50: number;
  pacedP99: number;
}

function row(label: string, variant: string, f: Figures): Row {
  return {
    run: label,
    variant,
    'req/s': f.rps,
    'p50 ms': f.p50,
    'p99 ms': f.p99,
    'server cores': f.serverCores,
    'server µs CPU/req': f.cpu,
    'db+redis cores': f.store,
    'foreign cores': f.foreign,
    'paced p50 ms': f.pacedP50,
    'paced p99 ms': f.pacedP99,
  };
}

const asRow = (f: LoadFigures, paced: LoadFigures): Figures => ({
  rps: f.requestsPerSecond,
  p50: f.latencyMs.p50,
  p99: f.latencyMs.p99,
  cpu: f.serverCpuMicrosPerRequest,
  serverCores: f.cpu.serverCores,
  store: f.cpu.storeCores,
  foreign: f.cpu.foreignCores,
  pacedP50: paced.latencyMs.p50,
  pacedP99: paced.latencyMs.p99,
});

function medians(rounds: RoundResult[]): Figures {
  const med = (pick: (x: LoadFigures) => number | null, which: 'figures' | 'paced' = 'figures') => medianOf(rounds.map((r) => pick(r[which])));
  return {
    rps: r1(med((x) => x.requestsPerSecond)!),
    p50: r3(med((x) => x.latencyMs.p50)!),
    p99: r3(med((x) => x.latencyMs.p99)!),
    cpu: med((x) => x.serverCpuMicrosPerRequest),
    serverCores: med((x) => x.cpu.serverCores),
    store: med((x) => x.cpu.storeCores),
    foreign: med((x) => x.cpu.foreignCores),
    pacedP50: r3(med((x) => x.latencyMs.p50, 'paced')!),
    pacedP99: r3(med((x) => x.latencyMs.p99, 'paced')!),
  };
}

/**
 * The price of the revocation check on the hot path: GET /userinfo (the global access-token guard,
 * then one user lookup) with the check as shipped (A) against the same server with the check
 * switched off by the bench-only BENCH_SKIP_REVOCATION_CHECK (B).
 *
 * One server at a time, restarted for every round, on the same stores and with the same ISSUER, so
 * that the same pre-issued access tokens are valid on both variants (works on the embedded default
 * too, where two processes cannot share one PGlite). Rounds alternate A B A B …, each with its own
 * warm-up, then a saturated run (as many requests as the connections get answered) and a paced one
 * (a fixed rate well below saturation, where latency is the request's own and not queueing); the
 * medians of each variant are compared. The config refuses BENCH_SKIP_REVOCATION_CHECK
 * with NODE_ENV=production, so both variants run NODE_ENV=development (nothing in src/ nor in the
 * HTTP stack reads NODE_ENV besides that validation).
 */
export const verify: Scenario = {
  name: 'verify',
  description: 'GET /userinfo with the revocation check (as shipped) vs without it (BENCH_SKIP_REVOCATION_CHECK), A B A B',
  async run({ settings, log }) {
    const { duration, warmup, connections, quietWait } = settings;
    const stores = await provisionStores();
    // An hour's tokens: the pre-issued ones must outlive every round, whatever --duration says
    // (the lifetime does not enter the check's cost).
    const env = { NODE_ENV: 'development', ACCESS_TOKEN_TTL: '3600' };
    try {
      log(`stores: ${stores.description}`);
      if (!stores.redis) log('REDIS_URL is unset: measuring the in-process revocation store (the Redis round trip is not in these figures)');

      // Set-up on a first server of variant A: a client, users, one access token per user, and a
      // spare token revoked at once (to prove on every later server whether the check is on).
      const setup = await startServer({ stores, env });
      const issuer = setup.url;
      let tokens: TokenResponse[];
      let revoked: string;
      try {
        const client = createClient(setup);
        const users = createUsers(setup, USERS);
        log(`logging in ${USERS} users`);
        tokens = await loginEach(setup, client, users);
        revoked = await revokedAccessToken(setup, client, users[0]);
      } finally {
        await setup.stop();
      }
      const auths = bearers(tokens);

      const rounds: RoundResult[] = [];
      const serverLogs: { round: number; variant: Variant; lines: string[] }[] = [];
      const failures: string[] = [];
      const pacedDuration = Math.max(3, Math.ceil(duration / 2));
      let pacedRate = 0;
      const clean = (r: RoundResult) => (r.figures.cpu.foreignCores ?? 0) < FOREIGN_LIMIT && (r.paced.cpu.foreignCores ?? 0) < FOREIGN_LIMIT && !r.paced.dropped;
      const cleanCount = (v: Variant) => rounds.filter((r) => r.variant === v && clean(r)).length;
      for (let round = 1; round <= MAX_ROUNDS; round++) {
        if (round > ROUNDS) {
          if (cleanCount('A') >= MIN_CLEAN && cleanCount('B') >= MIN_CLEAN) break;
          log(`round ${round}: only ${cleanCount('A')} A and ${cleanCount('B')} B rounds ran undisturbed so far; one more pair`);
        }
        for (const variant of ['A', 'B'] as Variant[]) {
          // Each round waits (bounded) for the machine to be quiet: other sessions come and go.
          const busyBefore = quietWait ? await waitForQuiet(Math.min(quietWait, 120) * 1000) : null;
          if (busyBefore !== null && busyBefore >= 0.25) log(`round ${round} ${variant}: the machine is still busy (${busyBefore} cores used by others)`);
          const server: Server = await startServer({
            stores,
            env: { ...env, ISSUER: issuer, ...(variant === 'B' ? { BENCH_SKIP_REVOCATION_CHECK: 'true' } : {}) },
          });
          try {
            const revokedTokenStatus = await withProbe(server.url, async (probe) => {
              const ok = await probe.send({ path: '/userinfo', headers: { authorization: auths[0] } });
              if (ok.status !== 200) throw new Error(`round ${round} ${variant}: GET /userinfo answered ${ok.status}: ${ok.body.slice(0, 200)}`);
              return (await probe.send({ path: '/userinfo', headers: { authorization: `Bearer ${revoked}` } })).status;
            });
            const expected = variant === 'A' ? 401 : 200;
            if (revokedTokenStatus !== expected) {
              failures.push(`round ${round} ${variant}: the revoked spare token got ${revokedTokenStatus}, expected ${expected}: the switch did not do what it says`);
            }
            if (variant === 'B' && !server.output().includes(SKIP_WARNING)) failures.push(`round ${round} B: the server did not log "${SKIP_WARNING}"`);

            const request = roundRobinBearer('/userinfo', auths);
            const verifyBody = hasSubject;
            log(`round ${round} ${variant} (${LABEL[variant]}): ${warmup}s warm-up + ${duration}s, ${connections} connections, ${auths.length} tokens round-robin`);
            const figures = await measure({ server, title: `userinfo ${variant} round ${round}`, connections, duration, warmup, request, verifyBody });
            pacedRate ||= pacedRateOf(figures.requestsPerSecond, PACED_SHARE);
            log(`round ${round} ${variant}: paced at ${pacedRate} req/s for ${pacedDuration}s`);
            const paced = await measurePaced({
              server,
              title: `userinfo ${variant} round ${round} paced`,
              rate: pacedRate,
              duration: pacedDuration,
              request: bearerAt('/userinfo', auths),
              verifyBody,
            });
            const roundProblems = [...problems(`round ${round} ${variant}`, figures), ...problems(`round ${round} ${variant} paced`, paced)];
            if (figures.non2xx || paced.non2xx) serverLogs.push({ round, variant, lines: logProblems(server.output()) });
            rounds.push({ round, variant, pid: server.pid, figures, paced, revokedTokenStatus, busyBefore, problems: roundProblems });
          } finally {
            await server.stop();
          }
        }
      }

      // Rounds that other work on the machine disturbed are left out of the medians, as long as
      // MIN_CLEAN rounds of each variant remain; otherwise every round counts, and the note says so.
      // A round's problems (non-2xx, errors) fail the run when the round is counted; an excluded
      // round's are printed.
      const cleanA = rounds.filter((r) => r.variant === 'A' && clean(r));
      const cleanB = rounds.filter((r) => r.variant === 'B' && clean(r));
      const useClean = cleanA.length >= MIN_CLEAN && cleanB.length >= MIN_CLEAN;
      const allA = medians(rounds.filter((r) => r.variant === 'A'));
      const allB = medians(rounds.filter((r) => r.variant === 'B'));
      const a = useClean ? medians(cleanA) : allA;
      const b = useClean ? medians(cleanB) : allB;
      const basis = useClean
        ? `medians of the undisturbed rounds (other processes < ${FOREIGN_LIMIT} cores; A: ${cleanA.map((r) => r.round).join(', ')}; B: ${cleanB.map((r) => r.round).join(', ')})`
        : `!! medians of ALL rounds: fewer than ${MIN_CLEAN} rounds of a variant ran undisturbed (A: ${cleanA.length}, B: ${cleanB.length}), so these figures are noisy`;
      const ratio = r3(a.rps / b.rps);
      const p99Diff = r3(a.p99 - b.p99);
      const p50Diff = r3(a.p50 - b.p50);
      const pacedP99Diff = r3(a.pacedP99 - b.pacedP99);
      const pacedP50Diff = r3(a.pacedP50 - b.pacedP50);
      const cpuDiff = a.cpu !== null && b.cpu !== null ? a.cpu - b.cpu : null;
      const used = (r: RoundResult) => !useClean || clean(r);
      for (const r of rounds) if (used(r)) failures.push(...r.problems);
      const excludedProblems = rounds.filter((r) => !used(r)).flatMap((r) => r.problems.map((p) => `!! (busy round, not counted) ${p}`));
      const pairs = Array.from({ length: rounds.length / 2 }, (_, k) => {
        const [x, y] = (['A', 'B'] as Variant[]).map((v) => rounds.find((r) => r.round === k + 1 && r.variant === v)!);
        return {
          round: k + 1,
          ratio: r3(x.figures.requestsPerSecond / y.figures.requestsPerSecond),
          p99DiffMs: r3(x.figures.latencyMs.p99 - y.figures.latencyMs.p99),
          pacedP99DiffMs: r3(x.paced.latencyMs.p99 - y.paced.latencyMs.p99),
        };
      });
      const ratioMet = ratio >= GOAL_RATIO;
      const p99Met = p99Diff <= GOAL_P99_MS;
      const pacedP99Met = pacedP99Diff <= GOAL_P99_MS;
      const signed = (n: number) => `${n >= 0 ? '+' : ''}${n}`;
      const storeNote = stores.redis
        ? "revocation store: Redis, mirrored in each instance's memory (REVOCATION_CHECK=mirror: no round trip per request)"
        : '!! REDIS_URL is unset: the check ran against the IN-PROCESS store, so these figures leave out the Redis round trip that matters in production';

      const table: Row[] = [
        ...rounds.map((r) => row(`round ${r.round}${clean(r) ? '' : ' (busy)'}`, `${r.variant}: ${LABEL[r.variant]}`, asRow(r.figures, r.paced))),
        row('median, all', `A: ${LABEL.A}`, allA),
        row('median, all', `B: ${LABEL.B}`, allB),
        ...(useClean ? [row('median, undisturbed', `A: ${LABEL.A}`, a), row('median, undisturbed', `B: ${LABEL.B}`, b)] : []),
      ];
      const notes = [
        storeNote,
        `the comparison below uses the ${basis}`,
        `saturated (${connections} connections, as fast as answered): req/s ratio with/without ${ratio} (goal ≥ ${GOAL_RATIO}: ${ratioMet ? 'met' : 'MISSED'}), p99 ${signed(p99Diff)} ms (goal ≤ ${GOAL_P99_MS} ms: ${p99Met ? 'met' : 'MISSED'}), p50 ${signed(p50Diff)} ms` +
          (cpuDiff !== null ? `, server CPU ${signed(cpuDiff)} µs/req` : ''),
        `paced (${pacedRate} req/s on a fixed schedule, ${PACED_SHARE * 100}% of round 1 A's rate, ${pacedDuration}s per round): p50 ${signed(pacedP50Diff)} ms, p99 ${signed(pacedP99Diff)} ms (goal ≤ ${GOAL_P99_MS} ms: ${pacedP99Met ? 'met' : 'MISSED'}). Saturated, a closed loop's latency is mostly queueing (≈ connections ÷ req/s), so its p99 difference follows the throughput; paced, it is the check's own latency`,
        `per round (A/B req/s; saturated p99 A−B; paced p99 A−B, ms): ${pairs.map((p) => `${p.round}: ${p.ratio}, ${signed(p.p99DiffMs)}, ${signed(p.pacedP99DiffMs)}`).join('; ')}`,
        `one server at a time (restarted every round, ${warmup}s warm-up each), both variants NODE_ENV=development (the config refuses the bench-only switch in production); ${auths.length} users' access tokens round-robin over ${connections} connections; stores: ${stores.description}`,
        '"server cores": CPU of the server process (with PGlite, the database runs in it too); "db+redis cores": local postgres and redis-server processes; "foreign cores": anything else',
        ...rounds.flatMap((r) => [...contention(`round ${r.round} ${r.variant}`, r.figures), ...contention(`round ${r.round} ${r.variant} paced`, r.paced)]),
        ...excludedProblems,
        ...serverLogs.map((l) => `!! round ${l.round} ${l.variant} had non-2xx answers; the server's last warnings: ${l.lines.slice(-3).join(' | ') || '(none logged)'}`),
        ...rounds
          .filter((r) => r.paced.dropped)
          .map((r) => `!! round ${r.round} ${r.variant} paced: ${r.paced.dropped} requests not sent, 64 already waiting: the server could not keep up with ${pacedRate} req/s, so that round's paced latencies include queueing`),
      ];
      if (!ratioMet || !p99Met || !pacedP99Met) {
        notes.push(
          `!! goal missed: ${[!ratioMet ? `req/s ratio ${ratio} < ${GOAL_RATIO}` : '', !p99Met ? `saturated p99 difference ${p99Diff} ms > ${GOAL_P99_MS} ms` : '', !pacedP99Met ? `paced p99 difference ${pacedP99Diff} ms > ${GOAL_P99_MS} ms` : ''].filter(Boolean).join('; ')}`,
        );
      }

      return {
        settings: {
          duration,
          warmup,
          connections,
          rounds: rounds.length / 2,
          order: turns(['A', 'B'], rounds.length / 2),
          pacedRate,
          pacedDuration,
          users: USERS,
          nodeEnv: 'development',
          accessTokenTtl: 3600,
          stores: stores.description,
          revocationStore: stores.redis ? 'redis' : 'in-process (REDIS_URL unset)',
        },
        figures: {
          revocationStore: stores.redis ? 'redis' : 'in-process',
          rounds: rounds.map((r) => ({ round: r.round, variant: r.variant, label: LABEL[r.variant], pid: r.pid, undisturbed: clean(r), busyCoresBefore: r.busyBefore, revokedTokenStatus: r.revokedTokenStatus, problems: r.problems, ...r.figures, paced: r.paced })),
          median: { A: allA, B: allB },
          medianUndisturbed: useClean ? { A: a, B: b, roundsA: cleanA.map((r) => r.round), roundsB: cleanB.map((r) => r.round) } : null,
          serverLogsOfRoundsWithErrors: serverLogs,
          comparisonBasis: useClean ? 'undisturbed rounds' : 'all rounds',
          comparison: {
            requestsPerSecondRatio: ratio,
            goalRatio: GOAL_RATIO,
            ratioMet,
            p99DiffMs: p99Diff,
            goalP99DiffMs: GOAL_P99_MS,
            p99Met,
            p50DiffMs: p50Diff,
            pacedRate,
            pacedP50DiffMs: pacedP50Diff,
            pacedP99DiffMs: pacedP99Diff,
            pacedP99Met,
            serverCpuMicrosPerRequestDiff: cpuDiff,
            perRound: pairs,
          },
        },
        table,
        failures,
        notes,
      };
    } finally {
      await stores.dispose();
    }
  },
};
