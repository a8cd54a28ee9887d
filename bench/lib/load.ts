import autocannon from 'autocannon';
import { HttpProbe, type TimedRequest } from './http.js';
import { type CpuUse, cpuMeter } from './machine.js';
import type { Window } from './profile.js';
import type { Server } from './stack.js';

export interface LoadOptions {
  server: Server;
  title: string;
  /** Concurrent keep-alive connections, one request in flight on each. */
  connections: number;
  /** Seconds measured. */
  duration: number;
  /** Seconds of the same load before measuring (not counted). 0: none. */
  warmup: number;
  /** The request each connection sends over and over (setupRequest may change it each time). */
  request: autocannon.Request;
  /** A response body this returns false for counts as a mismatch (which fails the run). */
  verifyBody?: (body: string) => boolean;
}

export interface LatencyMs {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadFigures {
  /** Responses received in the measured window. */
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** Per response, to the microsecond (autocannon's own histogram has 1 ms resolution). */
  latencyMs: LatencyMs;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  mismatches: number;
  cpu: CpuUse;
  /** Paced runs only: requests not sent because 64 were already waiting (the server could not keep up). */
  dropped?: number;
  /** Server CPU time per request, µs (server cores × seconds / requests). */
  serverCpuMicrosPerRequest: number | null;
  warmup?: { requests: number; requestsPerSecond: number; non2xx: number; errors: number };
}

interface Run {
  result: autocannon.Result;
  latencies: number[];
  seconds: number;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Mean, percentiles and max of a set of latencies (ms), to the microsecond. */
export function summarize(latencies: number[]): LatencyMs {
  const sorted = Float64Array.from(latencies).sort();
  const mean = latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1);
  return {
    mean: round(mean, 3),
    p50: round(percentile(sorted, 0.5), 3),
    p90: round(percentile(sorted, 0.9), 3),
    p99: round(percentile(sorted, 0.99), 3),
    max: round(sorted[sorted.length - 1] ?? NaN, 3),
  };
}

/** One autocannon run, bounded: it stops itself after `duration`, and is stopped 30 s past that. */
function fire(o: LoadOptions, duration: number, title: string): Promise<Run> {
  return new Promise((done, fail) => {
    const latencies: number[] = [];
    const started = process.hrtime.bigint();
    let guard: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        url: `${o.server.url}${o.request.path ?? '/'}`,
        title,
        connections: o.connections,
        pipelining: 1,
        duration,
        timeout: 10,
        requests: [o.request],
        ...(o.verifyBody ? { verifyBody: o.verifyBody } : {}),
      },
      (err, result) => {
        clearTimeout(guard);
        if (err) return fail(err);
        done({ result, latencies, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      if (latencies.length < 5_000_000) latencies.push(ms);
    });
    guard = setTimeout(() => instance.stop(), (duration + 30) * 1000);
  });
}

/** Every measured run of this process, for --profile to cut the servers' CPU profiles by. */
export const measuredWindows: Window[] = [];

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Warm-up, then the measured run, with the server's and the machine's CPU use over the latter. */
export async function measure(o: LoadOptions): Promise<LoadFigures> {
  let warmup: LoadFigures['warmup'];
  if (o.warmup > 0) {
    const w = await fire(o, o.warmup, `${o.title} (warm-up)`);
    warmup = {
      requests: w.latencies.length,
      requestsPerSecond: round(w.latencies.length / w.seconds, 1),
      non2xx: w.result.non2xx,
      errors: w.result.errors,
    };
  }
  const meter = cpuMeter(o.server.pid);
  const startUs = nowUs();
  const run = await fire(o, o.duration, o.title);
  measuredWindows.push({ title: o.title, startUs, endUs: nowUs() });
  const cpu = meter.stop();
  const requests = run.latencies.length;
  const statusCodes = Object.fromEntries(Object.entries(run.result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
  return {
    requests,
    seconds: round(run.seconds, 3),
    requestsPerSecond: round(requests / run.seconds, 1),
    latencyMs: summarize(run.latencies),
    non2xx: run.result.non2xx,
    statusCodes,
    errors: run.result.errors,
    timeouts: run.result.timeouts,
    mismatches: run.result.mismatches,
    cpu,
    serverCpuMicrosPerRequest: cpu.serverCores !== null && requests ? round((cpu.serverCores * run.seconds * 1e6) / requests, 0) : null,
    ...(warmup ? { warmup } : {}),
  };
}

/** The median of some figures (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Other processes took CPU during the run (≥ 0.2 cores): the figures are low. */
export function contention(name: string, f: LoadFigures): string[] {
  const c = f.cpu.foreignCores;
  return c !== null && c >= 0.2 ? [`${name}: other processes used ${c} cores during the measured run: figures are low and noisy`] : [];
}

/** Why a load run must not be trusted, or [] when it is clean (all 2xx, no errors, no mismatches). */
export function problems(name: string, f: LoadFigures): string[] {
  const out: string[] = [];
  if (f.non2xx) out.push(`${name}: ${f.non2xx} non-2xx responses (${JSON.stringify(f.statusCodes)})`);
  if (f.errors) out.push(`${name}: ${f.errors} connection errors (${f.timeouts} timeouts)`);
  if (f.mismatches) out.push(`${name}: ${f.mismatches} responses without the expected body`);
  if (f.warmup?.non2xx || f.warmup?.errors) out.push(`${name}: warm-up had ${f.warmup.non2xx} non-2xx and ${f.warmup.errors} errors`);
  if (!f.requests) out.push(`${name}: no responses at all`);
  return out;
}

export interface PacedOptions {
  server: Server;
  title: string;
  /** Requests per second, sent on a fixed schedule (open loop), whatever the answers take. */
  rate: number;
  /** Seconds. */
  duration: number;
  /** The i-th request. */
  request: (i: number) => TimedRequest;
  verifyBody?: (body: string) => boolean;
}

/**
 * Latency below saturation: requests sent at a fixed rate on a schedule (autocannon's rate limit
 * sends each second's quota in a burst, which queues), over keep-alive connections (up to 64 in
 * flight). Bounded: nothing is sent after `duration`, and stragglers are given 15 s.
 */
export async function measurePaced(o: PacedOptions): Promise<LoadFigures> {
  const probe = new HttpProbe(o.server.url);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let mismatches = 0;
  const inFlight = new Set<Promise<void>>();
  const meter = cpuMeter(o.server.pid);
  const startUs = nowUs();
  const t0 = performance.now();
  const total = Math.round(o.rate * o.duration);
  let sent = 0;
  let skipped = 0; // not sent: 64 already in flight
  try {
    while (sent < total) {
      const due = t0 + (sent * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Catch up on what the timer's lateness made due, but never more than 64 in flight.
      while (sent < total && t0 + (sent * 1000) / o.rate <= performance.now()) {
        if (inFlight.size >= 64) {
          skipped++;
          sent++;
          continue;
        }
        const p = probe
          .send(o.request(sent++))
          .then((r) => {
            latencies.push(r.ms);
            statusCodes[r.status] = (statusCodes[r.status] ?? 0) + 1;
            if (r.status < 200 || r.status > 299) non2xx++;
            else if (o.verifyBody && !o.verifyBody(r.body)) mismatches++;
          })
          .catch(() => void errors++)
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
    await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 15_000))]);
  } finally {
    probe.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  measuredWindows.push({ title: o.title, startUs, endUs: nowUs() });
  const cpu = meter.stop();
  const requests = latencies.length;
  return {
    requests,
    seconds: round(seconds, 3),
    requestsPerSecond: round(requests / seconds, 1),
    latencyMs: summarize(latencies),
    non2xx,
    statusCodes,
    errors,
    timeouts: 0,
    mismatches,
    cpu,
    dropped: skipped,
    serverCpuMicrosPerRequest: cpu.serverCores !== null && requests ? round((cpu.serverCores * seconds * 1e6) / requests, 0) : null,
  };
}
