import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { onCleanup } from '../lib/cleanup.js';
import { HttpProbe, type TimedRequest, type TimedResponse } from '../lib/http.js';
import { type GeneratorCheck, type PacedFigures, contention, measurePaced, measuredWindows, problems } from '../lib/load.js';
import { type CpuUse, cpuMeter } from '../lib/machine.js';
import { type BenchClient, clientHeaders, createClient, createUser, login } from '../lib/oauth.js';
import { logProblems, turns } from '../lib/result.js';
import { provisionStores, serverInfo, startServer } from '../lib/stack.js';
import { type LatencyMs, medianOf, r1, r3, summarize } from '../lib/stats.js';
import { sleep } from '../lib/time.js';
import type { Row, Scenario } from '../lib/types.js';

/** Part 1: revocations per second on a fixed schedule (one every 5 ms). */
const STEADY_RATE = 200;
/** Part 2: revocations in each burst, sent by BURST_CALLERS callers back to back. */
const BURST = 1000;
const BURST_CALLERS = 4;
/** Part 2: the subscriber counts compared. */
const FAN_OUTS = [1, 20] as const;
/** Part 3: the steady rate of the isolation runs, and their rounds (alone, beside a hanging one) × 3, medians compared. */
const ISOLATION_RATE = 100;
const ISOLATION_ROUNDS = 3;
/** Goals: revocation (call sent) → receipt at STEADY_RATE, and the healthy p99 beside a hanging subscriber ÷ alone. */
const GOAL_P50_MS = 20;
const GOAL_P99_MS = 100;
const GOAL_ISOLATION_FACTOR = 2;
/** The event the bench makes and its subscriptions choose (`POST /admin/api/users/{id}/lock`). */
const EVENT = 'user.locked';
/** Users the warm-ups lock again and again (no session): they keep the measured pool's users untouched. */
const WARM_USERS = 20;
/** Revocations of the small burst that warms up each part-2 run (warm users, not counted). */
const WARM_BURST = 50;
/** Users made (and logged in) at once during setup: argon2-bound, one hash at a time on the server's core. */
const SETUP_PARALLEL = 4;
const SETUP_DEADLINE_MS = 900_000;
/** Waiting for receipts stops when none came for this long, or after RECEIPTS_MAX_MS in all (the missing ones are counted). */
const RECEIPTS_IDLE_MS = 20_000;
const RECEIPTS_MAX_MS = 300_000;
/** A burst's callers stop after this, whatever is left. */
const BURST_DEADLINE_MS = 300_000;
/** Revoke calls outstanding at most in a paced run (a call due past it is dropped and counted). */
const MAX_OUTSTANDING = 1024;
const PASSWORD = 'a long enough passphrase';
const SETUP_REASON = 'bench webhooks setup';

const json = (auth: string) => ({ authorization: auth, 'content-type': 'application/json' });
const ok2xx = (r: TimedResponse) => r.status >= 200 && r.status <= 299;
/** The answer of a lock: `{"done":true,...}`. */
const isDone = (body: string) => body.includes('"done":true');
/** What a receipt is matched by: the event type, the subject (the user id) and the revocation's reason, which carries `<tag> #<i>`. */
const keyOf = (type: string, userId: string, reason: string) => `${type}|${userId}|${reason}`;
const reasonOf = (tag: string, i: number) => `${tag} #${i}`;
const tagOf = (reason: string) => reason.slice(0, Math.max(0, reason.lastIndexOf(' #')));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function lockRequest(auth: string, userId: string, reason: string): TimedRequest {
  return { method: 'POST', path: `/admin/api/users/${userId}/lock`, headers: json(auth), body: JSON.stringify({ reason }), timeoutMs: 30_000 };
}

interface TagStats {
  count: number;
  first: number;
  last: number;
}

/**
 * A subscriber on a loopback port, in the bench process (so its clock is the sender's): it answers
 * 204 at once, or (`hang`) reads the request and never answers. Each request's arrival is timed
 * with performance.now() when its body has arrived, matched by event type, subject and reason,
 * and its Standard Webhooks signature checked with the `standardwebhooks` package.
 */
class Receiver {
  /** Key → arrival of its first request. */
  readonly firstAt = new Map<string, number>();
  /** Per tag (a run): requests, first and last arrival. */
  readonly tags = new Map<string, TagStats>();
  requests = 0;
  duplicates = 0;
  unparsed = 0;
  badSignatures = 0;
  private verifier?: Webhook;
  private readonly hanging = new Set<ServerResponse>();
  private server?: HttpServer;
  url = '';
  private dispose?: () => Promise<void>;

  constructor(
    readonly name: string,
    readonly hang = false,
  ) {}

  /** The subscription's signing secret: every request is verified with it. */
  setSecret(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now();
        this.requests++;
        if (this.hang) this.hanging.add(res);
        else res.writeHead(204).end();
        this.record(Buffer.concat(chunks).toString('utf8'), req.headers, at);
      });
    });
    // A hanging receiver keeps its requests open until the service's WEBHOOK_TIMEOUT_MS cuts them off.
    server.requestTimeout = 0;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', done);
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    this.dispose = onCleanup(`stop webhook receiver ${this.name}`, () => this.close());
    return this;
  }

  private record(raw: string, headers: IncomingHttpHeaders, at: number): void {
    let body: { type?: string; data?: { subject?: { id?: string }; reason?: string } };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      this.unparsed++;
      return;
    }
    const type = body.type ?? '';
    const userId = body.data?.subject?.id ?? '';
    const reason = body.data?.reason ?? '';
    if (!type || !userId) {
      this.unparsed++;
      return;
    }
    if (this.verifier) {
      try {
        this.verifier.verify(raw, headers as Record<string, string>);
      } catch {
        this.badSignatures++;
      }
    }
    const key = keyOf(type, userId, reason);
    if (this.firstAt.has(key)) {
      this.duplicates++;
      return;
    }
    this.firstAt.set(key, at);
    const tag = tagOf(reason);
    const t = this.tags.get(tag);
    if (t) {
      t.count++;
      t.last = at;
    } else this.tags.set(tag, { count: 1, first: at, last: at });
  }

  count(tag: string): number {
    return this.tags.get(tag)?.count ?? 0;
  }

  private async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }

  stop(): Promise<void> {
    return this.dispose?.() ?? Promise.resolve();
  }
}

/**
 * Waits (bounded) until the receivers hold `expected` first receipts of `tag` in all: it stops
 * when none came for RECEIPTS_IDLE_MS or after RECEIPTS_MAX_MS. Answers how long it waited.
 */
async function awaitReceipts(receivers: Receiver[], tag: string, expected: number): Promise<{ received: number; waitedMs: number; complete: boolean }> {
  const count = () => receivers.reduce((n, r) => n + r.count(tag), 0);
  const t0 = performance.now();
  let last = count();
  let changed = t0;
  while (last < expected) {
    await sleep(50);
    const now = performance.now();
    const c = count();
    if (c !== last) {
      last = c;
      changed = now;
    }
    if (now - changed > RECEIPTS_IDLE_MS || now - t0 > RECEIPTS_MAX_MS) break;
  }
  return { received: last, waitedMs: Math.round(performance.now() - t0), complete: last >= expected };
}

/** The revocations of one run: when each call was sent and returned, and what it answered. */
interface Calls {
  tag: string;
  userIds: string[];
  sentAt: Float64Array;
  returnedAt: Float64Array;
  status: Int32Array;
}

const newCalls = (tag: string, userIds: string[], count: number): Calls => ({
  tag,
  userIds,
  sentAt: new Float64Array(count).fill(NaN),
  returnedAt: new Float64Array(count).fill(NaN),
  status: new Int32Array(count),
});

/** Keeps the first few answers other than 2xx, for the report. */
function keepRejected(into: { status: number; body: string }[], r: TimedResponse): void {
  if (!ok2xx(r) && into.length < 5) into.push({ status: r.status, body: r.body.slice(0, 300) });
}

/** Receipts per second of `tag` at these receivers, first → last receipt. */
function receiptRate(receivers: Receiver[], tag: string): { count: number; seconds: number; perSecond: number } {
  const stats = receivers.map((r) => r.tags.get(tag)).filter((t): t is TagStats => t !== undefined);
  if (!stats.length) return { count: 0, seconds: NaN, perSecond: NaN };
  const count = stats.reduce((n, t) => n + t.count, 0);
  const seconds = (Math.max(...stats.map((t) => t.last)) - Math.min(...stats.map((t) => t.first))) / 1000;
  return { count, seconds: r3(seconds), perSecond: r1(count / seconds) };
}

/** Call i locks the i-th user of the run (round-robin over its users). */
const userAt = (c: Calls, i: number) => c.userIds[i % c.userIds.length];

interface Matched {
  /** Revoke calls answered 2xx. */
  revocations: number;
  /** Of those, received by every receiver it was meant for (first receipts only). */
  deliveries: number;
  missing: number;
  /** Receipt minus the moment the revoke call was sent. */
  fromSentMs: number[];
  /** Receipt minus the moment the revoke call's answer arrived (negative: the event came first). */
  fromReturnedMs: number[];
}

function match(c: Calls, receivers: Receiver[]): Matched {
  const out: Matched = { revocations: 0, deliveries: 0, missing: 0, fromSentMs: [], fromReturnedMs: [] };
  for (let i = 0; i < c.status.length; i++) {
    if (c.status[i] < 200 || c.status[i] > 299) continue;
    out.revocations++;
    const key = keyOf(EVENT, userAt(c, i), reasonOf(c.tag, i));
    for (const r of receivers) {
      const at = r.firstAt.get(key);
      if (at === undefined) {
        out.missing++;
        continue;
      }
      out.deliveries++;
      out.fromSentMs.push(at - c.sentAt[i]);
      out.fromReturnedMs.push(at - c.returnedAt[i]);
    }
  }
  return out;
}

interface SteadyFigures {
  subscribers: number;
  hangingSubscribers: number;
  rate: number;
  /** The revoke calls themselves (the lock API's latency, status codes, CPU over the sending window, the generator's timing). */
  calls: PacedFigures & GeneratorCheck;
  revocations: number;
  deliveries: number;
  missing: number;
  duplicates: number;
  badSignatures: number;
  receiptLatencyFromSentMs: LatencyMs;
  receiptLatencyFromReturnedMs: LatencyMs;
  waitedForReceiptsMs: number;
  /** Healthy receipts per second, first → last receipt (what the worker kept up with; the offered rate is `rate`). */
  deliveriesPerSecond: number;
  /** The first few answers other than 2xx (status and body). */
  rejected: { status: number; body: string }[];
  /** Requests the hanging subscriber got (each one held until the service's timeout). */
  hangingRequests?: number;
}

interface BurstFigures {
  subscribers: number;
  callers: number;
  revocations: number;
  revokeNot2xx: number;
  revokeErrors: number;
  revokeStatus: Record<string, number>;
  /** First call sent → last call answered. */
  revokeSeconds: number;
  revocationsPerSecond: number;
  revokeLatencyMs: LatencyMs;
  deliveries: number;
  expectedDeliveries: number;
  missing: number;
  duplicates: number;
  badSignatures: number;
  /** First receipt → last receipt, at the receivers. */
  deliverySeconds: number;
  deliveriesPerSecond: number;
  /** First revoke call sent → last receipt. */
  totalSeconds: number;
  deliveriesPerSecondTotal: number;
  /** Last revoke call answered → last receipt: the backlog the worker still had. */
  drainSeconds: number;
  deliveryLatencyFromSentMs: LatencyMs;
  /** From the first call sent to the last receipt. */
  cpu: CpuUse;
  serverCpuMicrosPerDelivery: number | null;
  /** The first few answers other than 2xx (status and body). */
  rejected: { status: number; body: string }[];
}

/**
 * Revocation → webhook receipt. One server (NODE_ENV=development: production refuses http webhook
 * URLs, and nothing else reads NODE_ENV), its in-process delivery worker (pg-boss + undici), and
 * receivers in the bench process on loopback. Each revocation is a staff lock of a user
 * (`POST /admin/api/users/{id}/lock`), which writes a `user.locked` event in its transaction.
 */
export const webhooks: Scenario = {
  name: 'webhooks',
  description: `revocation → webhook receipt: latency at ${STEADY_RATE} locks/s, deliveries/s with ${FAN_OUTS.join(' and ')} subscribers, a hanging subscriber's effect on a healthy one`,
  async run({ settings, placement, log }) {
    const { duration, warmup } = settings;
    const stores = await provisionStores();
    try {
      log(`stores: ${stores.description}`);
      const server = await startServer({ stores, env: { NODE_ENV: 'development', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', ACCESS_TOKEN_TTL: '3600' } });
      const probe = new HttpProbe(server.url);
      const live: Receiver[] = [];
      try {
        log(`server: ${serverInfo(server)}`);
        const client = createClient(server);
        const admin = createUser(server, 'an admin passphrase for the bench', ['admin']);
        const [adminLogin] = await login(server, client, admin, { count: 1, parallel: 1 });
        const auth = `Bearer ${adminLogin.access_token}`;
        const failures: string[] = [];
        const notes: string[] = [];

        const subscribe = async (receiver: Receiver): Promise<string> => {
          const r = await probe.send({ method: 'POST', path: '/admin/api/webhooks', headers: json(auth), body: JSON.stringify({ reason: SETUP_REASON, url: receiver.url, event_types: [EVENT] }) });
          if (r.status !== 201) throw new Error(`POST /admin/api/webhooks answered ${r.status}: ${r.body.slice(0, 300)}`);
          const created = JSON.parse(r.body) as { subscription: { id: string }; secret: string };
          receiver.setSecret(created.secret);
          return created.subscription.id;
        };
        const unsubscribe = async (id: string): Promise<void> => {
          const r = await probe.send({ method: 'DELETE', path: `/admin/api/webhooks/${id}`, headers: json(auth), body: JSON.stringify({ reason: SETUP_REASON }) });
          if (r.status !== 200) throw new Error(`DELETE /admin/api/webhooks/${id} answered ${r.status}: ${r.body.slice(0, 300)}`);
        };
        /** Receivers and their subscriptions for one run; `use` runs with them, then both are undone. */
        const withSubscribers = async <T>(healthy: number, hanging: number, use: (healthy: Receiver[], hanging: Receiver[]) => Promise<T>): Promise<T> => {
          const ok = await Promise.all(Array.from({ length: healthy }, (_, i) => new Receiver(`healthy ${i + 1}`).start()));
          const hung = await Promise.all(Array.from({ length: hanging }, (_, i) => new Receiver(`hanging ${i + 1}`, true).start()));
          live.push(...ok, ...hung);
          const ids: string[] = [];
          try {
            for (const r of [...ok, ...hung]) ids.push(await subscribe(r));
            return await use(ok, hung);
          } finally {
            for (const id of ids) await unsubscribe(id);
            for (const r of [...ok, ...hung]) await r.stop();
          }
        };

        // Users: the measured pool, one per steady revocation, each with a live session (a
        // password login), so that each lock ends a session as a real one would; a few more for
        // the warm-ups. Later parts lock the pool's users again (no session left to end; each lock
        // is still a new cutoff, a revocation record, an audit row and a user.locked event).
        const steadyCount = Math.round(STEADY_RATE * duration);
        const setupStart = performance.now();
        log(`setup: ${steadyCount} users with a live session each and ${WARM_USERS} warm-up users, through the admin API (${SETUP_PARALLEL} at a time, argon2-bound)`);
        const warmUsers = await makeUsers(probe, auth, client, WARM_USERS, false, 'warm', log);
        const pool = await makeUsers(probe, auth, client, steadyCount, true, 'pool', log);
        const setupSeconds = (performance.now() - setupStart) / 1000;

        /** An open-loop run of locks at `rate` (warm-up first, not counted), with `healthy` + `hanging` subscribers. */
        const steadyRun = (title: string, tag: string, rate: number, userIds: string[], healthy: number, hanging: number): Promise<SteadyFigures> =>
          withSubscribers(healthy, hanging, async (ok, hung) => {
            const rejected: { status: number; body: string }[] = [];
            const paced = (t: string, c: Calls, seconds: number) =>
              measurePaced({
                server,
                title: t,
                rate,
                duration: seconds,
                maxOutstanding: MAX_OUTSTANDING,
                graceSeconds: 30,
                selfCheck: true,
                verifyBody: isDone,
                request: (i) => {
                  c.sentAt[i] = performance.now();
                  return lockRequest(auth, userAt(c, i), reasonOf(c.tag, i));
                },
                onResponse: (i, r) => {
                  c.returnedAt[i] = performance.now();
                  c.status[i] = r.status;
                  keepRejected(rejected, r);
                },
              });
            if (warmup > 0) {
              const w = newCalls(`${tag} warm-up`, warmUsers, Math.round(rate * warmup));
              log(`${title}: ${warmup}s warm-up at ${rate}/s`);
              const wf = await paced(`${title} (warm-up)`, w, warmup);
              measuredWindows.pop();
              failures.push(...problems(`${title} warm-up`, wf));
              await awaitReceipts(ok, w.tag, match(w, ok).revocations * ok.length);
            }
            const c = newCalls(tag, userIds, Math.round(rate * duration));
            log(`${title}: ${c.status.length} locks at ${rate}/s (one every ${r3(1000 / rate)} ms, open loop), ${ok.length} healthy${hung.length ? ` + ${hung.length} hanging` : ''} subscriber(s)`);
            const calls = await paced(title, c, duration);
            failures.push(...problems(title, calls));
            if (calls.dropped) failures.push(`${title}: ${calls.dropped} locks never sent (${MAX_OUTSTANDING} outstanding)`);
            const expected = match(c, []).revocations * ok.length;
            const waited = await awaitReceipts(ok, c.tag, expected);
            const m = match(c, ok);
            if (m.missing) failures.push(`${title}: ${m.missing} of ${expected} deliveries never reached the healthy receiver (waited ${r1(waited.waitedMs / 1000)} s)`);
            const f: SteadyFigures = {
              subscribers: ok.length + hung.length,
              hangingSubscribers: hung.length,
              rate,
              calls,
              revocations: m.revocations,
              deliveries: m.deliveries,
              missing: m.missing,
              duplicates: ok.reduce((n, r) => n + r.duplicates, 0),
              badSignatures: ok.reduce((n, r) => n + r.badSignatures, 0),
              receiptLatencyFromSentMs: summarize(m.fromSentMs),
              receiptLatencyFromReturnedMs: summarize(m.fromReturnedMs),
              waitedForReceiptsMs: waited.waitedMs,
              deliveriesPerSecond: receiptRate(ok, c.tag).perSecond,
              rejected,
              ...(hung.length ? { hangingRequests: hung.reduce((n, r) => n + r.requests, 0) } : {}),
            };
            if (f.badSignatures) failures.push(`${title}: ${f.badSignatures} requests failed the Standard Webhooks signature check`);
            return f;
          });

        /** BURST locks as fast as BURST_CALLERS callers get them answered, with `subscribers` receivers answering 204. */
        const burstRun = (title: string, tag: string, subscribers: number, userIds: string[]): Promise<BurstFigures> =>
          withSubscribers(subscribers, 0, async (ok) => {
            const rejected: { status: number; body: string }[] = [];
            const fire = async (c: Calls) => {
              let next = 0;
              let errors = 0;
              const deadline = performance.now() + BURST_DEADLINE_MS;
              const caller = async () => {
                while (next < c.status.length && performance.now() < deadline) {
                  const i = next++;
                  c.sentAt[i] = performance.now();
                  try {
                    const r = await probe.send(lockRequest(auth, userAt(c, i), reasonOf(c.tag, i)));
                    c.returnedAt[i] = performance.now();
                    c.status[i] = ok2xx(r) && !isDone(r.body) ? -1 : r.status;
                    keepRejected(rejected, r);
                  } catch {
                    c.returnedAt[i] = performance.now();
                    errors++;
                  }
                }
              };
              await Promise.all(Array.from({ length: BURST_CALLERS }, caller));
              return errors;
            };
            const w = newCalls(`${tag} warm-up`, warmUsers, WARM_BURST);
            log(`${title}: warm-up burst of ${WARM_BURST}`);
            await fire(w);
            await awaitReceipts(ok, w.tag, match(w, []).revocations * ok.length);

            const c = newCalls(tag, userIds, BURST);
            log(`${title}: ${BURST} locks, ${BURST_CALLERS} callers back to back, ${ok.length} subscriber(s) answering 204`);
            const meter = cpuMeter(server.pid);
            const startUs = nowUs();
            const t0 = performance.now();
            const errors = await fire(c);
            const callsDone = Math.max(...c.returnedAt.filter((x) => !Number.isNaN(x)));
            const expected = match(c, []).revocations * ok.length;
            const waited = await awaitReceipts(ok, c.tag, expected);
            const stats = ok.map((r) => r.tags.get(c.tag)).filter((t): t is TagStats => t !== undefined);
            const first = Math.min(...stats.map((t) => t.first));
            const last = Math.max(...stats.map((t) => t.last));
            measuredWindows.push({ title, startUs, endUs: nowUs() });
            const cpu = meter.stop();
            const m = match(c, ok);
            const statusCodes: Record<string, number> = {};
            for (const s of c.status) if (s) statusCodes[s === -1 ? 'unexpected body' : s] = (statusCodes[s === -1 ? 'unexpected body' : s] ?? 0) + 1;
            const not2xx = c.status.length - m.revocations - errors;
            const latencies = Array.from(c.status.keys()).filter((i) => !Number.isNaN(c.returnedAt[i]) && c.status[i] !== 0).map((i) => c.returnedAt[i] - c.sentAt[i]);
            const revokeSeconds = (callsDone - t0) / 1000;
            const deliverySeconds = stats.length ? (last - first) / 1000 : NaN;
            const totalSeconds = stats.length ? (last - t0) / 1000 : NaN;
            const f: BurstFigures = {
              subscribers: ok.length,
              callers: BURST_CALLERS,
              revocations: m.revocations,
              revokeNot2xx: not2xx,
              revokeErrors: errors,
              revokeStatus: statusCodes,
              revokeSeconds: r3(revokeSeconds),
              revocationsPerSecond: r1(m.revocations / revokeSeconds),
              revokeLatencyMs: summarize(latencies),
              deliveries: m.deliveries,
              expectedDeliveries: expected,
              missing: m.missing,
              duplicates: ok.reduce((n, r) => n + r.duplicates, 0),
              badSignatures: ok.reduce((n, r) => n + r.badSignatures, 0),
              deliverySeconds: r3(deliverySeconds),
              deliveriesPerSecond: r1(m.deliveries / deliverySeconds),
              totalSeconds: r3(totalSeconds),
              deliveriesPerSecondTotal: r1(m.deliveries / totalSeconds),
              drainSeconds: r3((last - callsDone) / 1000),
              deliveryLatencyFromSentMs: summarize(m.fromSentMs),
              cpu,
              rejected,
              serverCpuMicrosPerDelivery: cpu.serverCores !== null && m.deliveries ? Math.round((cpu.serverCores * ((performance.now() - t0) / 1000) * 1e6) / m.deliveries) : null,
            };
            if (not2xx || errors) failures.push(`${title}: ${not2xx} lock calls answered other than 2xx with the expected body, ${errors} failed (${JSON.stringify(statusCodes)})`);
            if (m.missing) failures.push(`${title}: ${m.missing} of ${expected} deliveries never arrived (waited ${r1(waited.waitedMs / 1000)} s after the last call)`);
            if (f.badSignatures) failures.push(`${title}: ${f.badSignatures} requests failed the Standard Webhooks signature check`);
            return f;
          });

        // 1. Latency at a steady rate.
        const steady = await steadyRun(`steady ${STEADY_RATE}/s`, 'bench webhooks steady', STEADY_RATE, pool, 1, 0);
        // 2. Deliveries per second.
        const bursts: BurstFigures[] = [];
        for (const n of FAN_OUTS) bursts.push(await burstRun(`burst, ${n} subscriber${n > 1 ? 's' : ''}`, `bench webhooks burst ${n}`, n, pool));
        // 3. Isolation: the same steady run without, then with, a subscriber that never answers.
        // One pair of runs is at the mercy of one slow moment (at 100/s the healthy subscription
        // runs not far below what one subscription gets delivered on a 2-core machine): rounds in
        // turn, medians compared.
        const isolation: { round: number; alone: SteadyFigures; beside: SteadyFigures }[] = [];
        for (let round = 1; round <= ISOLATION_ROUNDS; round++) {
          const a = await steadyRun(`isolation ${ISOLATION_RATE}/s round ${round}, healthy alone`, `bench webhooks alone ${round}`, ISOLATION_RATE, pool, 1, 0);
          const b = await steadyRun(`isolation ${ISOLATION_RATE}/s round ${round}, beside a hanging one`, `bench webhooks beside hang ${round}`, ISOLATION_RATE, pool, 1, 1);
          isolation.push({ round, alone: a, beside: b });
        }
        const isoRuns = isolation.flatMap((x) => [x.alone, x.beside]);
        const medianRun = (runs: SteadyFigures[]) => {
          const m = (pick: (f: SteadyFigures) => number | null) => medianOf(runs.map(pick));
          const l = (pick: (l: LatencyMs) => number) => r3(m((f) => pick(f.receiptLatencyFromSentMs))!);
          return {
            p50: l((x) => x.p50),
            p90: l((x) => x.p90),
            p99: l((x) => x.p99),
            max: l((x) => x.max),
            revokeP50: r3(m((f) => f.calls.latencyMs.p50)!),
            revokeP99: r3(m((f) => f.calls.latencyMs.p99)!),
            revokePerSecond: r1(m((f) => f.calls.requestsPerSecond)!),
            deliveriesPerSecond: r1(m((f) => f.deliveriesPerSecond)!),
            revocations: runs.reduce((n, f) => n + f.revocations, 0),
            deliveries: runs.reduce((n, f) => n + f.deliveries, 0),
            missing: runs.reduce((n, f) => n + f.missing, 0),
            hangingRequests: runs.reduce((n, f) => n + (f.hangingRequests ?? 0), 0),
            serverCores: m((f) => f.calls.cpu.serverCores),
            storeCores: m((f) => f.calls.cpu.storeCores),
            loadCores: m((f) => f.calls.cpu.loadCores),
            foreignCores: m((f) => f.calls.cpu.foreignCores),
          };
        };
        const aloneM = medianRun(isolation.map((x) => x.alone));
        const besideM = medianRun(isolation.map((x) => x.beside));
        const perRound = isolation.map((x) => ({ round: x.round, aloneP99Ms: x.alone.receiptLatencyFromSentMs.p99, besideP99Ms: x.beside.receiptLatencyFromSentMs.p99, factor: r3(x.beside.receiptLatencyFromSentMs.p99 / x.alone.receiptLatencyFromSentMs.p99) }));

        const p = steady.receiptLatencyFromSentMs;
        const p50Met = p.p50 <= GOAL_P50_MS;
        const p99Met = p.p99 <= GOAL_P99_MS;
        const factor = r3(besideM.p99 / aloneM.p99);
        const isolationMet = factor <= GOAL_ISOLATION_FACTOR && besideM.missing === 0;
        const env = { ...settings.serverEnv };
        const knob = (name: string, dflt: string) => env[name] ?? `${dflt} (default)`;
        const webhookSettings = {
          WEBHOOK_CONCURRENCY: knob('WEBHOOK_CONCURRENCY', '32'),
          WEBHOOK_SUBSCRIPTION_CONCURRENCY: knob('WEBHOOK_SUBSCRIPTION_CONCURRENCY', '4'),
          WEBHOOK_TIMEOUT_MS: knob('WEBHOOK_TIMEOUT_MS', '5000'),
        };

        const steadyRow = (run: string, f: SteadyFigures, from: 'sent' | 'returned'): Row => {
          const l = from === 'sent' ? f.receiptLatencyFromSentMs : f.receiptLatencyFromReturnedMs;
          return {
            run,
            'latency from': `call ${from}`,
            subs: f.subscribers,
            revocations: f.revocations,
            'revoke/s': f.calls.requestsPerSecond,
            deliveries: f.deliveries,
            'deliveries/s': f.deliveriesPerSecond,
            'p50 ms': l.p50,
            'p90 ms': l.p90,
            'p99 ms': l.p99,
            'max ms': l.max,
            'revoke p50 ms': f.calls.latencyMs.p50,
            'revoke p99 ms': f.calls.latencyMs.p99,
            missing: f.missing,
            'server cores': f.calls.cpu.serverCores,
            'db+redis cores': f.calls.cpu.storeCores,
            'bench cores': f.calls.cpu.loadCores,
            'foreign cores': f.calls.cpu.foreignCores,
          };
        };
        const burstRow = (f: BurstFigures): Row => ({
          run: `burst of ${BURST}, ${BURST_CALLERS} callers`,
          'latency from': 'call sent',
          subs: f.subscribers,
          revocations: f.revocations,
          'revoke/s': f.revocationsPerSecond,
          deliveries: f.deliveries,
          'deliveries/s': f.deliveriesPerSecond,
          'p50 ms': f.deliveryLatencyFromSentMs.p50,
          'p90 ms': f.deliveryLatencyFromSentMs.p90,
          'p99 ms': f.deliveryLatencyFromSentMs.p99,
          'max ms': f.deliveryLatencyFromSentMs.max,
          'revoke p50 ms': f.revokeLatencyMs.p50,
          'revoke p99 ms': f.revokeLatencyMs.p99,
          missing: f.missing,
          'server cores': f.cpu.serverCores,
          'db+redis cores': f.cpu.storeCores,
          'bench cores': f.cpu.loadCores,
          'foreign cores': f.cpu.foreignCores,
        });
        const medianRow = (run: string, subs: number, m: ReturnType<typeof medianRun>): Row => ({
          run,
          'latency from': 'call sent',
          subs,
          revocations: m.revocations,
          'revoke/s': m.revokePerSecond,
          deliveries: m.deliveries,
          'deliveries/s': m.deliveriesPerSecond,
          'p50 ms': m.p50,
          'p90 ms': m.p90,
          'p99 ms': m.p99,
          'max ms': m.max,
          'revoke p50 ms': m.revokeP50,
          'revoke p99 ms': m.revokeP99,
          missing: m.missing,
          'server cores': m.serverCores,
          'db+redis cores': m.storeCores,
          'bench cores': m.loadCores,
          'foreign cores': m.foreignCores,
        });
        const table: Row[] = [
          steadyRow(`steady ${STEADY_RATE}/s`, steady, 'sent'),
          steadyRow(`steady ${STEADY_RATE}/s`, steady, 'returned'),
          ...bursts.map(burstRow),
          ...isolation.flatMap((x) => [steadyRow(`isolation ${ISOLATION_RATE}/s r${x.round}, alone`, x.alone, 'sent'), steadyRow(`isolation ${ISOLATION_RATE}/s r${x.round}, + hanging`, x.beside, 'sent')]),
          medianRow(`isolation ${ISOLATION_RATE}/s median, alone`, 1, aloneM),
          medianRow(`isolation ${ISOLATION_RATE}/s median, + hanging`, 2, besideM),
        ];

        const [one, many] = bursts;
        notes.push(
          `goal: revocation → receipt at ${STEADY_RATE}/s (from the revoke call's send): p50 ${p.p50} ms (goal ≤ ${GOAL_P50_MS} ms: ${p50Met ? 'met' : 'MISSED'}), p99 ${p.p99} ms (goal ≤ ${GOAL_P99_MS} ms: ${p99Met ? 'met' : 'MISSED'}); p90 ${p.p90}, max ${p.max}, ${steady.deliveries} receipts of ${steady.revocations} revocations; from the call's return: p50 ${steady.receiptLatencyFromReturnedMs.p50}, p99 ${steady.receiptLatencyFromReturnedMs.p99} ms; the lock call itself: p50 ${steady.calls.latencyMs.p50}, p99 ${steady.calls.latencyMs.p99} ms`,
          `deliveries/s (first → last receipt): 1 subscriber ${one.deliveriesPerSecond}/s (${one.deliveries} in ${one.deliverySeconds} s; ${one.deliveriesPerSecondTotal}/s from the first call, ${one.totalSeconds} s), ${FAN_OUTS[1]} subscribers ${many.deliveriesPerSecond}/s (${many.deliveries} in ${many.deliverySeconds} s; ${many.deliveriesPerSecondTotal}/s from the first call, ${many.totalSeconds} s); the locks themselves: ${one.revocationsPerSecond}/s and ${many.revocationsPerSecond}/s; backlog drained ${one.drainSeconds} s and ${many.drainSeconds} s after the last call returned`,
          `goal: isolation at ${ISOLATION_RATE}/s: the healthy subscriber's median p99 beside one that hangs ${besideM.p99} ms vs alone ${aloneM.p99} ms = ${factor}x (goal ≤ ${GOAL_ISOLATION_FACTOR}x: ${isolationMet ? 'met' : 'MISSED'}); median p50 ${besideM.p50} vs ${aloneM.p50} ms; per round (beside/alone p99): ${perRound.map((x) => `${x.round}: ${x.besideP99Ms}/${x.aloneP99Ms} = ${x.factor}x`).join('; ')}; the hanging subscribers got ${besideM.hangingRequests} requests in all, each held until WEBHOOK_TIMEOUT_MS`,
          `each revocation: POST /admin/api/users/{id}/lock by an admin (a ${EVENT} event written in its transaction); steady: ${steady.revocations} distinct users with a live session each (${steadyCount} made and logged in first, ${setupSeconds.toFixed(1)} s); bursts and isolation lock the same users again (a new cutoff and event, no session left to end); warm-ups lock ${WARM_USERS} other users; a receipt is matched by event type, subject id and the lock's reason`,
          `open loop: lock i is sent at t0 + i/rate whatever the earlier ones take (up to ${MAX_OUTSTANDING} outstanding over 64 keep-alive connections); "latency from call sent" = arrival at the receiver (performance.now() in the bench process, once the body is in) − the moment the lock was handed to node:http; "call returned": − the moment its answer arrived (negative when the event came first)`,
          `receivers: node:http on 127.0.0.1 in the bench process (core ${placement.loadCores}), answering 204 at once (or never: the hanging one), every request's signature checked with standardwebhooks; each run has its own subscriptions (event_types ["${EVENT}"]), deleted after it`,
          `server: ${serverInfo(server)}, NODE_ENV=development (production refuses http webhook URLs; nothing else reads NODE_ENV), WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, ${Object.entries(webhookSettings).map(([k, v]) => `${k}=${v}`).join(', ')}; its delivery worker runs in the server process, on its core`,
          `the load generator's own event-loop delay (its timing error, receipts included): steady p99 ${steady.calls.generatorLoopDelayMs.p99} ms, max ${steady.calls.generatorLoopDelayMs.max} ms; isolation max ${Math.max(...isoRuns.map((f) => f.calls.generatorLoopDelayMs.max))} ms; sends > 2 ms late: steady ${steady.calls.lateSends} of ${steady.revocations}, isolation ${isoRuns.map((f) => f.calls.lateSends).join(', ')} (each lock's latency counts from when it was actually sent)`,
          `stores: ${stores.description}`,
          ...(stores.database === 'pglite' ? ['!! embedded PGlite runs inside the server process: the queue (pg-boss) and every delivery write take the server\'s core too'] : []),
          ...(steady.duplicates + one.duplicates + many.duplicates + isoRuns.reduce((n, f) => n + f.duplicates, 0)
            ? [`duplicate receipts (at-least-once): steady ${steady.duplicates}, bursts ${one.duplicates}/${many.duplicates}, isolation ${isoRuns.map((f) => f.duplicates).join('/')}`]
            : []),
          ...contention('steady', steady.calls),
          ...isolation.flatMap((x) => [...contention(`isolation round ${x.round} alone`, x.alone.calls), ...contention(`isolation round ${x.round} beside a hanging one`, x.beside.calls)]),
          ...bursts.filter((b) => b.cpu.foreignCores !== null && b.cpu.foreignCores >= 0.2).map((b) => `burst ${b.subscribers}: other processes used ${b.cpu.foreignCores} cores: figures are low and noisy`),
        );
        const runs: [string, { rejected: { status: number; body: string }[] }][] = [
          [`steady ${STEADY_RATE}/s`, steady],
          ...bursts.map((b): [string, BurstFigures] => [`burst, ${b.subscribers} subscriber(s)`, b]),
          ...isolation.flatMap((x): [string, SteadyFigures][] => [
            [`isolation round ${x.round} alone`, x.alone],
            [`isolation round ${x.round} beside a hanging one`, x.beside],
          ]),
        ];
        for (const [name, f] of runs) for (const r of f.rejected) notes.push(`!! ${name}: a lock call answered ${r.status}: ${r.body}`);
        if (!p50Met || !p99Met) notes.push(`!! goal missed: revocation → receipt p50 ${p.p50} ms (≤ ${GOAL_P50_MS}), p99 ${p.p99} ms (≤ ${GOAL_P99_MS}) at ${STEADY_RATE}/s`);
        if (!isolationMet) notes.push(`!! goal missed: a hanging subscriber makes the healthy one's p99 ${factor}x (goal ≤ ${GOAL_ISOLATION_FACTOR}x)`);
        if (failures.length) notes.push(...logProblems(server.output()).map((l) => `server: ${l}`));

        return {
          settings: {
            duration,
            warmup,
            steadyRate: STEADY_RATE,
            steadyRevocations: steadyCount,
            burst: BURST,
            burstCallers: BURST_CALLERS,
            fanOuts: FAN_OUTS,
            isolationRate: ISOLATION_RATE,
            isolationRounds: ISOLATION_ROUNDS,
            isolationOrder: turns(['alone', 'beside a hanging one'], ISOLATION_ROUNDS),
            maxOutstanding: MAX_OUTSTANDING,
            event: EVENT,
            nodeEnv: 'development',
            webhook: webhookSettings,
            stores: stores.description,
            cores: { server: server.cores, load: placement.loadCores, receivers: placement.loadCores },
            goals: { p50Ms: GOAL_P50_MS, p99Ms: GOAL_P99_MS, isolationFactor: GOAL_ISOLATION_FACTOR },
          },
          figures: {
            setup: { poolUsers: pool.length, warmUsers: warmUsers.length, seconds: r1(setupSeconds) },
            steady,
            bursts,
            isolation: { rounds: isolation, median: { alone: aloneM, besideHanging: besideM }, p99Factor: factor, perRound, met: isolationMet },
            goals: { p50Met, p99Met, isolationMet },
          },
          table,
          failures,
          notes,
        };
      } finally {
        probe.close();
        for (const r of live) await r.stop();
        await server.stop();
      }
    } finally {
      await stores.dispose();
    }
  },
};

/**
 * `count` users through the admin API (`POST /admin/api/users`), SETUP_PARALLEL at a time, each
 * then logged in once (a live session) when `withSession`. Answers their ids.
 */
async function makeUsers(probe: HttpProbe, auth: string, client: BenchClient, count: number, withSession: boolean, label: string, log: (line: string) => void): Promise<string[]> {
  const run = randomBytes(3).toString('hex');
  const deadline = Date.now() + SETUP_DEADLINE_MS;
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      if (Date.now() > deadline) throw new Error(`made only ${ids.length} of ${count} ${label} users in ${SETUP_DEADLINE_MS / 1000} s`);
      const n = next++;
      const email = `bench-wh-${label}-${run}-${n}@example.com`;
      const r = await probe.send({ method: 'POST', path: '/admin/api/users', headers: json(auth), body: JSON.stringify({ reason: SETUP_REASON, email, password: PASSWORD }), timeoutMs: 60_000 });
      if (r.status !== 201) throw new Error(`POST /admin/api/users answered ${r.status}: ${r.body.slice(0, 300)}`);
      const id = (JSON.parse(r.body) as { id: string }).id;
      if (withSession) {
        const body = new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD, scope: 'read' }).toString();
        const t = await probe.send({ method: 'POST', path: '/oauth/token', headers: clientHeaders(client), body, timeoutMs: 60_000 });
        if (t.status !== 200) throw new Error(`password grant for ${email} answered ${t.status}: ${t.body.slice(0, 300)}`);
      }
      ids.push(id);
      if (ids.length % 500 === 0) log(`setup: ${ids.length} of ${count} ${label} users`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SETUP_PARALLEL, count) }, worker));
  return ids;
}
