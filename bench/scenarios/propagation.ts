import { HttpProbe, type TimedResponse, jwtPayload } from '../lib/http.js';
import { coresMeter, cpuMeter, placementOnCore } from '../lib/machine.js';
import { type BenchClient, type BenchUser, type TokenResponse, clientHeaders, createClient, createUser, createUsers, login, revokeRequest } from '../lib/oauth.js';
import { logProblems, standAside } from '../lib/result.js';
import { type Server, provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { r1, r3, round, summarize } from '../lib/stats.js';
import { sleep } from '../lib/time.js';
import type { Row, Scenario } from '../lib/types.js';

/** Revocations checked: the brief asks for at least 1,000. */
const ROUNDS = 1000;
/** Plain users whose sessions are revoked (the admin user is separate and never revoked). */
const USERS = 8;
/** The whole loop must end well within the access-token lifetime (900 s) of the pooled tokens. */
const LOOP_DEADLINE_MS = 600_000;
const MAX_REVOKE_RETRIES = 3;

const ok2xx = (r: TimedResponse) => r.status >= 200 && r.status <= 299;
const retryable = (r: TimedResponse) => r.status === 503;
/** The `code` of an RFC 9457 problem body, if it is one. */
function problemCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

/**
 * The ways of revoking, in turn. `jti`: RFC 7009 on the access token (the session lives on, so its
 * tokens come from refresh grants, no argon2); the others end the session: RFC 7009 on its refresh
 * token, logout with the token itself, and a staff revocation of the session through the admin API.
 */
const KINDS = ['oauth-revoke access_token', 'oauth-revoke refresh_token', 'auth/logout', 'admin session revoke'] as const;
type Kind = (typeof KINDS)[number];

interface Token {
  access: string;
  refresh: string;
  sid: string;
  issuedOn: 'A' | 'B';
}

interface KindStats {
  rounds: number;
  issuedOnA: number;
  issuedOnB: number;
  /** B said 200 to the token after the revoke call returned 2xx: the promise broken. */
  acceptedOnB: number;
  acceptedOnC: number;
  /** A (where the revoke ran) said 200 after it returned. */
  acceptedOnA: number;
  /** The session's refresh token still worked on B after a session revoke. */
  refreshAccepted: number;
  /** The revoke call's first answer was a 503 (allowed: it says the revocation is not yet sure), retried. */
  revokeRetried: number;
  /** The revoke call still did not answer 2xx after its retries. */
  revokeNot2xx: number;
  revokeMs: number[];
  probeMs: number[];
  probeStatus: Record<string, number>;
  /** Why B refused, from the problem+json `detail` (e.g. "token revoked"). */
  probeReasons: Record<string, number>;
}

const newStats = (): KindStats => ({ rounds: 0, issuedOnA: 0, issuedOnB: 0, acceptedOnB: 0, acceptedOnC: 0, acceptedOnA: 0, refreshAccepted: 0, revokeRetried: 0, revokeNot2xx: 0, revokeMs: [], probeMs: [], probeStatus: {}, probeReasons: {} });

/**
 * Read-your-revocation across instances: two servers (A and B) on the same database, Redis prefix,
 * KEY_ENCRYPTION_KEY and ISSUER. ROUNDS times: a fresh access token (issued on A or B in turn) is
 * accepted on B, revoked on A, and the moment the revoke call returns, B is asked once: it must
 * refuse. Any acceptance fails the run.
 */
export const propagation: Scenario = {
  name: 'propagation',
  description: 'revoke on instance A, probe instances B and C the moment the call returns (must refuse), 1,000 times, 4 kinds',
  async run({ log, placement }) {
    if (!process.env.REDIS_URL) {
      const reason = 'REDIS_URL is unset: two instances cannot share the in-process revocation store, so there is no propagation to measure';
      log(`propagation stands aside: ${reason}`);
      return standAside(reason, { requires: ['REDIS_URL', 'DATABASE_URL'] });
    }
    if (!process.env.DATABASE_URL) {
      const reason = 'DATABASE_URL is unset: two instances cannot share one embedded PGlite';
      log(`propagation stands aside: ${reason}`);
      return standAside(reason, { requires: ['REDIS_URL', 'DATABASE_URL'] });
    }

    const stores = await provisionStores();
    try {
      log(`stores: ${stores.description}`);
      const a = await startServer({ stores });
      // B: the other core when the server is pinned (it shares core 1 with the bench process, which
      // has one request in flight at a time here); unpinned otherwise.
      const bPlacement = placementOnCore(placement, 1);
      const b = await startServer({ stores, placement: bPlacement, env: { ISSUER: a.url } });
      // C: a third instance (the mirror's revoke call waits for every live one).
      const c = await startServer({ stores, placement: bPlacement, env: { ISSUER: a.url } });
      log(`A: ${serverInfo(a)}; B: ${serverInfo(b)}; C: ${serverInfo(c)}, issuer ${a.url} for all`);
      const onA = new HttpProbe(a.url);
      const onB = new HttpProbe(b.url);
      const onC = new HttpProbe(c.url);
      try {
        const client = createClient(a);
        const admin = createUser(a, 'an admin passphrase for the bench', ['admin']);
        const users = createUsers(a, USERS);
        const [adminLogin] = await login(a, client, admin, { count: 1, parallel: 1 });
        const adminAuth = `Bearer ${adminLogin.access_token}`;

        const plan: Kind[] = Array.from({ length: ROUNDS }, (_, i) => KINDS[i % KINDS.length]);
        const sessionRounds = plan.filter((k) => k !== 'oauth-revoke access_token').length;
        log(`logging in ${sessionRounds} sessions (password grants, half on A, half on B) and 2 refresh chains`);
        const t0 = performance.now();
        const pool = await loginPool(a, b, client, users, sessionRounds);
        const loginSeconds = (performance.now() - t0) / 1000;
        // One long-lived session per server whose refresh token rotates: the jti rounds' tokens.
        const chains = { A: (await login(a, client, users[0], { count: 1, parallel: 1 }))[0].refresh_token!, B: (await login(b, client, users[1], { count: 1, parallel: 1 }))[0].refresh_token! };

        const stats = Object.fromEntries(KINDS.map((k) => [k, newStats()])) as Record<Kind, KindStats>;
        const failures: string[] = [];
        const broken: string[] = [];
        let precheck503 = 0;
        const revokeErrors: { round: number; kind: Kind; attempts: { status: number; ms: number; body: string }[]; serverALog: string[] }[] = [];
        const deadline = Date.now() + LOOP_DEADLINE_MS;
        const basic = clientHeaders(client);
        const loopStart = performance.now();
        const meter = cpuMeter(a.pid);
        const bMeter = coresMeter([b.pid]);
        const cMeter = coresMeter([c.pid]);

        log(`${ROUNDS} rounds: token accepted on B → revoked on A → B probed at once`);
        for (let i = 0; i < ROUNDS; i++) {
          if (Date.now() > deadline) {
            failures.push(`the loop ran past its ${LOOP_DEADLINE_MS / 1000} s deadline after ${i} rounds`);
            break;
          }
          const kind = plan[i];
          const s = stats[kind];
          let token: Token;
          if (kind === 'oauth-revoke access_token') {
            const issuedOn: 'A' | 'B' = s.rounds % 2 === 0 ? 'A' : 'B';
            const issuer = issuedOn === 'A' ? onA : onB;
            const r = await issuer.send({ method: 'POST', path: '/oauth/token', headers: basic, body: `grant_type=refresh_token&refresh_token=${chains[issuedOn]}` });
            if (r.status !== 200) throw new Error(`round ${i}: refresh grant on ${issuedOn} answered ${r.status}: ${r.body.slice(0, 200)}`);
            const t = JSON.parse(r.body) as TokenResponse;
            chains[issuedOn] = t.refresh_token!;
            token = { access: t.access_token, refresh: t.refresh_token!, sid: String(jwtPayload(t.access_token).sid), issuedOn };
          } else {
            const next = pool.shift();
            if (!next) throw new Error(`round ${i}: the session pool ran dry`);
            token = next;
          }
          s.rounds++;
          if (token.issuedOn === 'A') s.issuedOnA++;
          else s.issuedOnB++;
          const bearer = { authorization: `Bearer ${token.access}` };

          // B fails closed with 503 when it cannot read the denylist in time (a busy machine): ask again.
          let before = await onB.send({ path: '/userinfo', headers: bearer });
          for (let retry = 0; before.status === 503 && retry < MAX_REVOKE_RETRIES; retry++) {
            precheck503++;
            await sleep(1000);
            before = await onB.send({ path: '/userinfo', headers: bearer });
          }
          if (before.status !== 200) {
            failures.push(`round ${i} (${kind}): B refused the fresh token before any revocation (${before.status}: ${before.body.slice(0, 160)})`);
            continue;
          }

          const revokeOnce = (): Promise<TimedResponse> => {
            switch (kind) {
              case 'oauth-revoke access_token':
                return onA.send(revokeRequest(client, token.access, 'access_token'));
              case 'oauth-revoke refresh_token':
                return onA.send(revokeRequest(client, token.refresh, 'refresh_token'));
              case 'auth/logout':
                return onA.send({ method: 'POST', path: '/auth/logout', headers: bearer });
              case 'admin session revoke':
                return onA.send({
                  method: 'POST',
                  path: `/admin/api/sessions/${token.sid}/revoke`,
                  headers: { authorization: adminAuth, 'content-type': 'application/json' },
                  body: JSON.stringify({ reason: 'bench' }),
                });
            }
          };
          // A revoke call that cannot guarantee the revocation answers 503 (the brief's guarantee 1):
          // it is retried, as a client would, after its Retry-After (at most 3 more times), and the
          // round is judged on the call that succeeded. A logout retried after a 503 whose revocation
          // did commit is refused 401 "token revoked" by the guard: that, too, means done.
          let revoke = await revokeOnce();
          const failed: TimedResponse[] = [];
          while (!ok2xx(revoke) && retryable(revoke) && failed.length < MAX_REVOKE_RETRIES) {
            failed.push(revoke);
            await sleep(Math.min(1000, 1000 * (Number(revoke.headers['retry-after']) || 1)));
            revoke = await revokeOnce();
            if (kind === 'auth/logout' && revoke.status === 401 && revoke.body.includes('token revoked')) revoke = { ...revoke, status: 204 };
          }
          if (failed.length) {
            s.revokeRetried++;
            revokeErrors.push({ round: i, kind, attempts: [...failed, revoke].map((r) => ({ status: r.status, ms: r3(r.ms), body: r.body.slice(0, 300) })), serverALog: logProblems(a.output()) });
          }
          // The moment the revoke call has returned: one probe on B, one on C, then one on A.
          const probe = await onB.send({ path: '/userinfo', headers: bearer });
          const third = await onC.send({ path: '/userinfo', headers: bearer });
          const own = await onA.send({ path: '/userinfo', headers: bearer });
          if (third.status === 200) {
            s.acceptedOnC++;
            broken.push(`round ${i} (${kind}): C ACCEPTED the token after the revoke call returned ${revoke.status}`);
          }
          s.revokeMs.push(revoke.ms);
          s.probeMs.push(probe.ms);
          s.probeStatus[probe.status] = (s.probeStatus[probe.status] ?? 0) + 1;
          if (probe.status !== 200) {
            let reason = `${probe.status}`;
            try {
              reason = String((JSON.parse(probe.body) as { detail?: string }).detail ?? reason);
            } catch {
              // not JSON: keep the status
            }
            s.probeReasons[reason] = (s.probeReasons[reason] ?? 0) + 1;
          }
          if (!ok2xx(revoke)) {
            s.revokeNot2xx++;
            failures.push(`round ${i} (${kind}): the revoke call answered ${revoke.status} after ${failed.length + 1} attempts: ${revoke.body.slice(0, 200)}`);
            continue;
          }
          if (probe.status === 200) {
            s.acceptedOnB++;
            broken.push(`round ${i} (${kind}, issued on ${token.issuedOn}, jti ${String(jwtPayload(token.access).jti)}): B ACCEPTED the token after the revoke call returned ${revoke.status}`);
          }
          if (own.status === 200) {
            s.acceptedOnA++;
            broken.push(`round ${i} (${kind}): A ACCEPTED the token after its own revoke call returned ${revoke.status}`);
          }
          if (kind !== 'oauth-revoke access_token') {
            const refresh = await onB.send({ method: 'POST', path: '/oauth/token', headers: basic, body: `grant_type=refresh_token&refresh_token=${token.refresh}` });
            if (refresh.status === 200) {
              s.refreshAccepted++;
              broken.push(`round ${i} (${kind}): B ACCEPTED the revoked session's refresh token`);
            }
          }
        }
        const loopSeconds = (performance.now() - loopStart) / 1000;
        const cpuA = meter.stop();
        const bCores = bMeter.stop();
        const cCores = cMeter.stop();
        // cpuMeter counts B and C as foreign: take them out.
        const foreignCores = cpuA.foreignCores !== null && bCores !== null && cCores !== null ? round(Math.max(0, cpuA.foreignCores - bCores - cCores)) : cpuA.foreignCores;
        const cpu = { serverACores: cpuA.serverCores, serverBCores: bCores, serverCCores: cCores, loadCores: cpuA.loadCores, storeCores: cpuA.storeCores, foreignCores, perCore: cpuA.perCore };

        const all = KINDS.map((k) => stats[k]);
        const sum = (pick: (s: KindStats) => number) => all.reduce((n, s) => n + pick(s), 0);
        const total = {
          rounds: sum((s) => s.rounds),
          acceptedOnB: sum((s) => s.acceptedOnB),
          acceptedOnC: sum((s) => s.acceptedOnC),
          acceptedOnA: sum((s) => s.acceptedOnA),
          refreshAccepted: sum((s) => s.refreshAccepted),
          revokeRetried: sum((s) => s.revokeRetried),
          revokeNot2xx: sum((s) => s.revokeNot2xx),
          revokeMs: summarize(all.flatMap((s) => s.revokeMs)),
          probeMs: summarize(all.flatMap((s) => s.probeMs)),
          probeStatus: all.reduce<Record<string, number>>((acc, s) => {
            for (const [code, n] of Object.entries(s.probeStatus)) acc[code] = (acc[code] ?? 0) + n;
            return acc;
          }, {}),
          probeReasons: all.reduce<Record<string, number>>((acc, s) => {
            for (const [why, n] of Object.entries(s.probeReasons)) acc[why] = (acc[why] ?? 0) + n;
            return acc;
          }, {}),
        };
        const statusText = (m: Record<string, number>) => Object.entries(m).map(([c, n]) => `${c}×${n}`).join(' ');
        const row = (name: string, s: { rounds: number; acceptedOnB: number; acceptedOnC: number; acceptedOnA: number; refreshAccepted: number; revokeRetried: number; revokeNot2xx: number; probeStatus: Record<string, number> }, rv: ReturnType<typeof summarize>, pr: ReturnType<typeof summarize>): Row => ({
          'revoked by': name,
          rounds: s.rounds,
          'accepted on B after': s.acceptedOnB,
          'accepted on C after': s.acceptedOnC,
          'accepted on A after': s.acceptedOnA,
          'refresh accepted after': name.startsWith('oauth-revoke access') ? '-' : s.refreshAccepted,
          'revoke 503 → retried': s.revokeRetried,
          'revoke failed': s.revokeNot2xx,
          'revoke p50 ms': rv.p50,
          'revoke p99 ms': rv.p99,
          'B probe p50 ms': pr.p50,
          'B probe p99 ms': pr.p99,
          'B probe status': statusText(s.probeStatus),
        });
        const table = [...KINDS.map((k) => row(k, stats[k], summarize(stats[k].revokeMs), summarize(stats[k].probeMs))), row('all', total, total.revokeMs, total.probeMs)];

        const acceptedAfter = total.acceptedOnB + total.acceptedOnC + total.acceptedOnA + total.refreshAccepted;
        if (acceptedAfter) {
          failures.unshift(`READ-YOUR-REVOCATION BROKEN: ${acceptedAfter} revoked credentials were accepted after the revoke call returned`, ...broken.slice(0, 20));
          process.stdout.write(`\n!!!!!!!! propagation: ${acceptedAfter} REVOKED CREDENTIALS ACCEPTED AFTER THE REVOKE CALL RETURNED !!!!!!!!\n${broken.slice(0, 20).map((l) => `!!   ${l}`).join('\n')}\n\n`);
        }
        if (total.rounds < ROUNDS) failures.push(`only ${total.rounds} of ${ROUNDS} rounds were checked`);

        return {
          settings: {
            rounds: ROUNDS,
            kinds: KINDS,
            users: USERS,
            stores: stores.description,
            instances: { A: { url: a.url, cores: a.cores }, B: { url: b.url, cores: b.cores }, C: { url: c.url, cores: c.cores }, issuer: a.url, sharedKeyEncryptionKey: true },
          },
          figures: {
            acceptedAfterRevoke: { onB: total.acceptedOnB, onC: total.acceptedOnC, onA: total.acceptedOnA, refreshTokensOnB: total.refreshAccepted },
            total,
            byKind: Object.fromEntries(KINDS.map((k) => [k, { ...stats[k], revokeMs: summarize(stats[k].revokeMs), probeMs: summarize(stats[k].probeMs) }])),
            loopSeconds: r1(loopSeconds),
            cpuDuringLoop: cpu,
            passwordLoginsForSetup: { logins: sessionRounds, seconds: r1(loginSeconds) },
            broken: broken.slice(0, 100),
            revokeErrors: revokeErrors.slice(0, 50),
            precheck503OnB: precheck503,
          },
          table,
          failures,
          notes: [
            `${total.rounds} tokens: each accepted on B (GET /userinfo 200), revoked on A, then B probed once the moment the revoke call returned: ${total.acceptedOnB} accepted on B, ${total.acceptedOnA} on A, ${total.refreshAccepted} revoked sessions' refresh tokens accepted on B (all must be 0)`,
            ...(total.revokeRetried
              ? [
                  `!! ${total.revokeRetried} revoke calls first answered 503 (${[...new Set(revokeErrors.flatMap((e) => e.attempts.filter((x) => x.status === 503).map((x) => problemCode(x.body) ?? '503')))].join(', ')}) and were retried; B was probed after the retry succeeded (a 503 says the revocation is not yet sure, which the guarantee allows). Details in the JSON (revokeErrors)`,
                ]
              : []),
            ...(precheck503 ? [`!! B answered 503 (fail closed) ${precheck503} times to a fresh token before its revocation; asked again after 1 s`] : []),
            `B's answers to the probes: ${Object.entries(total.probeReasons).map(([why, n]) => `${n}× "${why}"`).join(', ') || '-'}`,
            `tokens issued on A and B in turn (jti rounds: refresh grants on a rotating chain per server; session rounds: a pool of ${sessionRounds} password logins made first in ${loginSeconds.toFixed(1)} s); session revocations by admin use {"reason":"bench"}`,
            `A on core ${a.cores}, B on core ${b.cores}${b.cores === '1' ? ' (shared with the bench process, which keeps one request in flight)' : ''}; same database, Redis prefix, KEY_ENCRYPTION_KEY and ISSUER (${a.url}); ${loopSeconds.toFixed(1)} s for the loop`,
            `CPU during the loop (cores): A ${cpu.serverACores}, B ${cpu.serverBCores}, C ${cpu.serverCCores}, bench ${cpu.loadCores}, db+redis ${cpu.storeCores}, foreign ${cpu.foreignCores}` +
              (cpu.foreignCores !== null && cpu.foreignCores >= 0.2 ? ': other processes were busy, so the latencies are high and noisy (the acceptance count is not affected)' : ''),
            `stores: ${stores.description}`,
          ],
        };
      } finally {
        onA.close();
        onB.close();
        onC.close();
        await b.stop();
        await c.stop();
        await a.stop();
      }
    } finally {
      await stores.dispose();
    }
  },
};

/** `count` sessions by password grant, on A and B in turn, 2 at a time on each (argon2-bound), users in turn. */
async function loginPool(a: Server, b: Server, client: BenchClient, users: BenchUser[], count: number): Promise<Token[]> {
  const made: Record<'A' | 'B', Token[]> = { A: [], B: [] };
  const deadline = Date.now() + 300_000;
  let next = 0;
  const worker = async (server: Server, on: 'A' | 'B') => {
    while (next < count) {
      if (Date.now() > deadline) throw new Error(`made only ${made.A.length + made.B.length} of ${count} logins in 300 s`);
      const user = users[next++ % users.length];
      const [t] = await login(server, client, user, { count: 1, parallel: 1 });
      made[on].push({ access: t.access_token, refresh: t.refresh_token!, sid: String(jwtPayload(t.access_token).sid), issuedOn: on });
    }
  };
  await Promise.all([worker(a, 'A'), worker(a, 'A'), worker(b, 'B'), worker(b, 'B')]);
  // Interleave so that consecutive session rounds alternate the issuing server.
  const out: Token[] = [];
  for (let i = 0; i < Math.max(made.A.length, made.B.length); i++) {
    if (made.A[i]) out.push(made.A[i]);
    if (made.B[i]) out.push(made.B[i]);
  }
  return out;
}
