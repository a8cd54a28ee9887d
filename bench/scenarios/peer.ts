import { withProbe } from '../lib/http.js';
import { type LoadFigures, contention, measure, measuredWindows, problems } from '../lib/load.js';
import { coresMeter } from '../lib/machine.js';
import { type TokenResponse, bearers, createClient, createUsers, hasSubject, loginEach, revokedAccessToken, roundRobinBearer } from '../lib/oauth.js';
import { startPeer } from '../lib/peer.js';
import { type Window, printProfiles } from '../lib/profile.js';
import { turns } from '../lib/result.js';
import { type Server, freePort, provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { median, medianOf, r1, r3 } from '../lib/stats.js';
import type { Row, Scenario } from '../lib/types.js';

/** Rounds of each side, run A B A B …: odd, for a true median; 5 because a shared 2-core machine varies. */
const ROUNDS = 5;
/** Users logged in once each through Latchkey's password grant; their tokens go round-robin over the requests. */
const USERS = 8;
/** The "Hot path" goal: Latchkey's protected, revocation-checked route at ≥ 2.0x the peer's req/s, p99 no higher. */
const GOAL_RATIO = 2.0;

/** The metrics goal (issue point 15): Latchkey with metrics on (D) keeps ≥ 97% of its req/s with them off (A). */
const METRICS_GOAL_RATIO = 0.97;

/**
 * A: Latchkey; B: the typical peer (the goal's yardstick); C: the same peer with its keys as KeyObjects;
 * D: a second Latchkey on the same stores with METRICS_PORT set (metrics on), for the price of the metrics.
 */
type Side = 'latchkey' | 'peer' | 'peer-keyobject' | 'latchkey-metrics';
const ALL_SIDES: Side[] = ['latchkey', 'peer', 'peer-keyobject', 'latchkey-metrics'];
const LABEL: Record<Side, string> = {
  latchkey: 'A latchkey GET /userinfo',
  peer: 'B peer GET /me (jwks-rsa)',
  'peer-keyobject': 'C peer GET /me (KeyObject)',
  'latchkey-metrics': 'D latchkey GET /userinfo, metrics on',
};
const isLatchkey = (s: Side) => s === 'latchkey' || s === 'latchkey-metrics';

interface Run {
  round: number;
  side: Side;
  figures: LoadFigures;
  /** CPU of the other two servers (idle, on the same core) over this run, in cores. */
  idleOtherCores: number | null;
}

/** Cores some processes used together over an async step (null without /proc). */
async function cpuOf<T>(pids: number[], step: () => Promise<T>): Promise<{ value: T; cores: number | null }> {
  const meter = coresMeter(pids);
  const value = await step();
  return { value, cores: meter.stop() };
}

/**
 * The "Hot path" goal: Latchkey's protected route with the revocation check on (as shipped:
 * NODE_ENV=production, the denylist in Redis when REDIS_URL is set) against the typical stateless
 * NestJS service (bench/peer: Express adapter, passport-jwt ES256 with its keys through jwks-rsa's
 * passportJwtSecret, no revocation check at all), on the same tokens, the same core, the same load.
 * A third side, the same peer holding its keys as KeyObjects built once (PEER_KEYS=keyobject),
 * shows how much of the peer's cost is jwks-rsa handing jsonwebtoken a PEM to parse per request.
 *
 * One Latchkey and the two peers run side by side for the whole scenario, all pinned to the server
 * core; they take turns (A B C A B C …), so while one is measured the others are idle (their CPU over
 * each run is recorded). Every run has its own warm-up; the medians are compared.
 */
export const peer: Scenario = {
  name: 'peer',
  description: 'Latchkey GET /userinfo (revocation check on) vs the typical NestJS+Express+passport-jwt service GET /me (and the same with KeyObjects), and Latchkey with metrics on (D, with DATABASE_URL), A B C D × 5',
  async run({ settings, placement, log }) {
    const { duration, warmup, connections } = settings;
    const stores = await provisionStores();
    try {
      log(`stores: ${stores.description}`);
      if (!stores.redis) log('REDIS_URL is unset: Latchkey checks revocation against its in-process store (no Redis round trip in these figures)');
      // An hour's tokens, so that they outlive every round whatever --duration says.
      const latchkey = await startServer({ stores, env: { ACCESS_TOKEN_TTL: '3600' } });
      log(`latchkey: ${serverInfo(latchkey)}`);

      const client = createClient(latchkey);
      const users = createUsers(latchkey, USERS);
      log(`logging in ${USERS} users through the password grant`);
      const tokens: TokenResponse[] = await loginEach(latchkey, client, users);
      const auths = bearers(tokens);
      // A spare token, revoked at once: Latchkey must refuse it (the check is on); the peers take it.
      const spare = await revokedAccessToken(latchkey, client, users[0]);
      // D: the same service with metrics on, on the same database and Redis prefix and with A's issuer, so
      // that it accepts the very same tokens (two processes cannot share the embedded PGlite). Started after
      // the logins: its start-up between A's readiness probe and them outlasted A's keep-alive timeout.
      const SIDES: Side[] = stores.database === 'postgres' ? ALL_SIDES : ALL_SIDES.filter((s) => s !== 'latchkey-metrics');
      const metricsPort = await freePort();
      const latchkeyMetrics = SIDES.includes('latchkey-metrics')
        ? await startServer({ stores, env: { ACCESS_TOKEN_TTL: '3600', ISSUER: latchkey.url, METRICS_PORT: String(metricsPort) } })
        : undefined;
      if (latchkeyMetrics) log(`latchkey with metrics on: ${serverInfo(latchkeyMetrics)}, /metrics on 127.0.0.1:${metricsPort}`);
      else log('DATABASE_URL is unset: no side D (Latchkey with metrics on needs a second instance on the same database)');

      const peers = {
        peer: await startPeer({ latchkeyUrl: latchkey.url, placement, keys: 'jwks-rsa' }),
        'peer-keyobject': await startPeer({ latchkeyUrl: latchkey.url, placement, keys: 'keyobject' }),
      };
      for (const [name, p] of Object.entries(peers)) log(`${name}: ${serverInfo(p)}, keys from ${latchkey.url}/.well-known/jwks.json`);
      const servers = { latchkey, ...peers, ...(latchkeyMetrics ? { 'latchkey-metrics': latchkeyMetrics } : {}) } as Record<Side, Server>;
      const pathOf = (s: Side) => (isLatchkey(s) ? '/userinfo' : '/me');

      const failures: string[] = [];
      const checks: Record<string, number> = {};
      for (const s of SIDES) {
        await withProbe(servers[s].url, async (probe) => {
          const ok = await probe.send({ path: pathOf(s), headers: { authorization: auths[0] } });
          if (ok.status !== 200) throw new Error(`${s} GET ${pathOf(s)} answered ${ok.status}: ${ok.body.slice(0, 300)}\n${servers[s].output().slice(-2000)}`);
          checks[`${s}.validToken`] = ok.status;
          checks[`${s}.responseBytes`] = Buffer.byteLength(ok.body);
          checks[`${s}.revokedToken`] = (await probe.send({ path: pathOf(s), headers: { authorization: `Bearer ${spare}` } })).status;
          checks[`${s}.noToken`] = (await probe.send({ path: pathOf(s) })).status;
        });
      }
      for (const s of SIDES.filter(isLatchkey)) {
        if (checks[`${s}.revokedToken`] !== 401) failures.push(`${s} answered ${checks[`${s}.revokedToken`]} to a revoked token (expected 401): the revocation check is not on`);
      }
      for (const s of ['peer', 'peer-keyobject'] as Side[]) {
        if (checks[`${s}.revokedToken`] !== 200) failures.push(`${s} answered ${checks[`${s}.revokedToken`]} to a revoked (but well-signed) token: expected 200, it checks nothing`);
        if (checks[`${s}.noToken`] !== 401) failures.push(`${s} answered ${checks[`${s}.noToken`]} without a token (expected 401)`);
      }

      const runs: Run[] = [];
      const peerWindows: Record<string, Window[]> = { peer: [], 'peer-keyobject': [] };
      for (let round = 1; round <= ROUNDS; round++) {
        for (const s of SIDES) {
          const server = servers[s];
          const request = roundRobinBearer(pathOf(s), auths);
          log(`round ${round} ${LABEL[s]}: ${warmup}s warm-up + ${duration}s, ${connections} connections`);
          const others = SIDES.filter((x) => x !== s).map((x) => servers[x].pid);
          const { value: figures, cores } = await cpuOf(others, () =>
            measure({ server, title: `${s} round ${round}`, connections, duration, warmup, request, verifyBody: hasSubject }),
          );
          // With --profile the runner prints Latchkey's profile by the measured windows: the peers'
          // runs are kept apart (an idle Latchkey then) and their own profiles printed by them below.
          if (s in peerWindows) peerWindows[s].push(measuredWindows.pop()!);
          else if (s === 'latchkey-metrics') measuredWindows.pop();
          failures.push(...problems(`round ${round} ${s}`, figures));
          runs.push({ round, side: s, figures, idleOtherCores: cores });
        }
      }
      if (latchkeyMetrics) {
        // Proof that D counted what it served: its /userinfo 200s, from its own metrics port.
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const m = /^latchkey_http_requests_total\{method="GET",route="\/userinfo",status="200"\} (\d+)$/m.exec(text);
        checks['latchkey-metrics.scrapedUserinfo200'] = m ? Number(m[1]) : 0;
        checks['latchkey-metrics.scrapeBytes'] = Buffer.byteLength(text);
        if (!m || Number(m[1]) === 0) failures.push('latchkey with metrics on: its /metrics did not count the /userinfo requests');
        await latchkeyMetrics.stop();
      }
      for (const p of Object.values(peers)) await p.stop();
      await latchkey.stop();
      for (const [name, p] of Object.entries(peers)) {
        if (!p.profileDir) continue;
        process.stdout.write(`\n  CPU profile of ${name} (its measured runs; Latchkey's follows the table):\n`);
        printProfiles(p.profileDir, peerWindows[name]);
      }

      const of = (s: Side) => runs.filter((r) => r.side === s);
      const summary = (s: Side) => ({
        requestsPerSecond: r1(medianOf(of(s).map((r) => r.figures.requestsPerSecond))!),
        p50Ms: r3(medianOf(of(s).map((r) => r.figures.latencyMs.p50))!),
        p99Ms: r3(medianOf(of(s).map((r) => r.figures.latencyMs.p99))!),
        serverCores: medianOf(of(s).map((r) => r.figures.cpu.serverCores)),
        serverCpuMicrosPerRequest: medianOf(of(s).map((r) => r.figures.serverCpuMicrosPerRequest)),
        storeCores: medianOf(of(s).map((r) => r.figures.cpu.storeCores)),
        foreignCores: medianOf(of(s).map((r) => r.figures.cpu.foreignCores)),
        idleOtherCores: medianOf(of(s).map((r) => r.idleOtherCores)),
      });
      const med = Object.fromEntries(SIDES.map((s) => [s, summary(s)])) as Record<Side, ReturnType<typeof summary>>;
      const A = med.latchkey;
      const versus = (s: Side) => {
        const perRound = Array.from({ length: ROUNDS }, (_, k) => {
          const a = runs.find((r) => r.round === k + 1 && r.side === 'latchkey')!.figures;
          const b = runs.find((r) => r.round === k + 1 && r.side === s)!.figures;
          return { round: k + 1, ratio: r3(a.requestsPerSecond / b.requestsPerSecond), latchkeyP99Ms: a.latencyMs.p99, otherP99Ms: b.latencyMs.p99, p99NoHigher: a.latencyMs.p99 <= b.latencyMs.p99 };
        });
        const ratio = r3(A.requestsPerSecond / med[s].requestsPerSecond);
        return {
          requestsPerSecondRatio: ratio,
          medianOfRoundRatios: r3(median(perRound.map((p) => p.ratio))),
          ratioMet: ratio >= GOAL_RATIO,
          latchkeyP99Ms: A.p99Ms,
          otherP99Ms: med[s].p99Ms,
          p99Met: A.p99Ms <= med[s].p99Ms,
          perRound,
        };
      };
      const vsPeer = versus('peer');
      const vsKeyObject = versus('peer-keyobject');
      // D ÷ A: the price of the metrics (goal: at most a 3% drop).
      const metricsOnVsOff = latchkeyMetrics
        ? (() => {
            const perRound = Array.from({ length: ROUNDS }, (_, k) => {
              const a = runs.find((r) => r.round === k + 1 && r.side === 'latchkey')!.figures;
              const d = runs.find((r) => r.round === k + 1 && r.side === 'latchkey-metrics')!.figures;
              return { round: k + 1, ratio: r3(d.requestsPerSecond / a.requestsPerSecond) };
            });
            const ratio = r3(med['latchkey-metrics'].requestsPerSecond / A.requestsPerSecond);
            return { requestsPerSecondRatio: ratio, medianOfRoundRatios: r3(median(perRound.map((p) => p.ratio))), goal: METRICS_GOAL_RATIO, met: ratio >= METRICS_GOAL_RATIO, onP99Ms: med['latchkey-metrics'].p99Ms, offP99Ms: A.p99Ms, perRound };
          })()
        : null;

      const row = (round: string, s: Side, f: { rps: number; p50: number; p99: number; cores: number | null; cpu: number | null; foreign: number | null }, a: { rps: number; p99: number }): Row => ({
        round,
        server: LABEL[s],
        'req/s': f.rps,
        'p50 ms': f.p50,
        'p99 ms': f.p99,
        'server cores': f.cores,
        'µs CPU/req': f.cpu,
        'latchkey ÷ this': s === 'latchkey' ? null : r3(a.rps / f.rps),
        'latchkey p99 ≤ this': isLatchkey(s) ? '' : a.p99 <= f.p99 ? 'yes' : 'NO',
        'foreign cores': f.foreign,
      });
      const fromRun = (r: Run) => ({ rps: r.figures.requestsPerSecond, p50: r.figures.latencyMs.p50, p99: r.figures.latencyMs.p99, cores: r.figures.cpu.serverCores, cpu: r.figures.serverCpuMicrosPerRequest, foreign: r.figures.cpu.foreignCores });
      const fromMed = (s: Side) => ({ rps: med[s].requestsPerSecond, p50: med[s].p50Ms, p99: med[s].p99Ms, cores: med[s].serverCores, cpu: med[s].serverCpuMicrosPerRequest, foreign: med[s].foreignCores });
      const table: Row[] = [
        ...runs.map((r) => row(String(r.round), r.side, fromRun(r), fromRun(runs.find((x) => x.round === r.round && x.side === 'latchkey')!))),
        ...SIDES.map((s) => row('median', s, fromMed(s), fromMed('latchkey'))),
      ];
      const verdict = (v: ReturnType<typeof versus>) =>
        `req/s ratio ${v.requestsPerSecondRatio} (median of rounds' ratios ${v.medianOfRoundRatios}; goal ≥ ${GOAL_RATIO}: ${v.ratioMet ? 'met' : 'MISSED'}), p99 ${v.latchkeyP99Ms} vs ${v.otherP99Ms} ms (goal: no higher: ${v.p99Met ? 'met' : 'MISSED'})`;
      const notes = [
        `GOAL (Hot path), Latchkey vs the typical peer (B): ${verdict(vsPeer)}`,
        `for reference, Latchkey vs the peer with KeyObjects (C, not the goal's yardstick): ${verdict(vsKeyObject)}`,
        `per round (Latchkey ÷ B; Latchkey ÷ C): ${vsPeer.perRound.map((p, k) => `${p.round}: ${p.ratio}; ${vsKeyObject.perRound[k].ratio}`).join(' | ')}`,
        metricsOnVsOff
          ? `METRICS (issue point 15), Latchkey with metrics on (D) ÷ off (A): req/s ratio ${metricsOnVsOff.requestsPerSecondRatio} (median of rounds' ratios ${metricsOnVsOff.medianOfRoundRatios}; per round ${metricsOnVsOff.perRound.map((p) => p.ratio).join(', ')}; goal ≥ ${METRICS_GOAL_RATIO}: ${metricsOnVsOff.met ? 'met' : 'MISSED'}), p99 ${metricsOnVsOff.onP99Ms} vs ${metricsOnVsOff.offP99Ms} ms; D's scrape counted ${checks['latchkey-metrics.scrapedUserinfo200']} /userinfo 200s (${checks['latchkey-metrics.scrapeBytes']} B)`
          : '!! no side D (DATABASE_URL unset): the price of the metrics is not measured',
        stores.redis
          ? 'Latchkey: NODE_ENV=production, revocation check on (as shipped), denylist in Redis (one MGET per request)'
          : '!! REDIS_URL is unset: Latchkey checked revocation against its IN-PROCESS store (single-instance mode), without the Redis round trip of a production deployment',
        `proofs: a revoked token got ${checks['latchkey.revokedToken']} from Latchkey, ${checks['peer.revokedToken']} / ${checks['peer-keyobject.revokedToken']} from the peers (they check only signature, iss, aud, exp); response bodies: Latchkey ${checks['latchkey.responseBytes']} B ({sub,email,roles}), peers ${checks['peer.responseBytes']} B (the claims)`,
        'peers: NestJS 12 defaults with @nestjs/platform-express (Express 5), @nestjs/passport + passport-jwt AuthGuard(\'jwt\'), ES256, iss and aud checked, NODE_ENV=production, no per-request logging; B gets its keys through jwks-rsa passportJwtSecret (cache on: a PEM string, parsed by jsonwebtoken on every request), C from the JWKS fetched once at start-up into KeyObjects by kid',
        `all ${SIDES.length} servers alive throughout, pinned to core ${latchkey.cores}, taking turns (the idle others used ${A.idleOtherCores ?? '-'} cores (median) during Latchkey's runs, ${med.peer.idleOtherCores ?? '-'} during B's, ${med['peer-keyobject'].idleOtherCores ?? '-'} during C's${latchkeyMetrics ? `, ${med['latchkey-metrics'].idleOtherCores ?? '-'} during D's` : ''}); load on core ${placement.loadCores}; ${warmup}s warm-up + ${duration}s per run, ${connections} connections, ${auths.length} users' tokens round-robin per request`,
        'latency is closed-loop at saturation: p99 is mostly queueing (≈ connections ÷ req/s) plus the server\'s pauses (GC, timers)',
        ...(settings.profile ? ['!! --profile: all servers ran with --cpu-prof (it costs each some throughput): use this run for the profiles, not the figures'] : []),
        ...runs.flatMap((r) => contention(`round ${r.round} ${r.side}`, r.figures)),
      ];
      if (!vsPeer.ratioMet || !vsPeer.p99Met) {
        notes.push(`!! goal missed: ${[!vsPeer.ratioMet ? `ratio ${vsPeer.requestsPerSecondRatio} < ${GOAL_RATIO}` : '', !vsPeer.p99Met ? `Latchkey p99 ${A.p99Ms} ms > peer p99 ${med.peer.p99Ms} ms` : ''].filter(Boolean).join('; ')}`);
      }

      return {
        settings: {
          duration,
          warmup,
          connections,
          pipelining: 1,
          rounds: ROUNDS,
          order: turns(SIDES.map((s) => LABEL[s][0]), ROUNDS),
          users: USERS,
          accessTokenTtl: 3600,
          stores: stores.description,
          revocationStore: stores.redis ? 'redis' : 'in-process (REDIS_URL unset)',
          cores: { latchkey: latchkey.cores, peer: peers.peer.cores, peerKeyObject: peers['peer-keyobject'].cores, ...(latchkeyMetrics ? { latchkeyMetrics: latchkeyMetrics.cores } : {}), load: placement.loadCores },
          latchkey: { route: 'GET /userinfo', nodeEnv: 'production', revocationCheck: 'on (as shipped)' },
          latchkeyMetrics: latchkeyMetrics ? { route: 'GET /userinfo', env: 'METRICS_PORT set (metrics on), ISSUER = A\'s', goal: `D ÷ A req/s ≥ ${METRICS_GOAL_RATIO}` } : 'not run (DATABASE_URL unset)',
          peer: {
            route: 'GET /me',
            nodeEnv: 'production',
            stack: 'NestJS 12 + @nestjs/platform-express (Express 5) + @nestjs/passport AuthGuard(jwt) + passport-jwt',
            keys: { peer: 'jwks-rsa passportJwtSecret (cache: true, rateLimit: true)', 'peer-keyobject': 'JWKS fetched at start-up, crypto.createPublicKey({format: jwk}) by kid' },
            algorithms: ['ES256'],
            checks: 'signature, iss, aud, exp; no revocation',
          },
          goal: { versus: 'peer (B)', ratio: GOAL_RATIO, p99: 'Latchkey p99 ≤ peer p99' },
          profiled: settings.profile,
        },
        figures: {
          revocationStore: stores.redis ? 'redis' : 'in-process',
          checks,
          runs: runs.map((r) => ({ round: r.round, side: r.side, idleOtherCores: r.idleOtherCores, ...r.figures })),
          median: med,
          comparison: { goalRatio: GOAL_RATIO, versusPeer: vsPeer, versusPeerKeyObject: vsKeyObject, metricsOnVsOff },
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
