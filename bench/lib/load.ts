import autocannon from 'autocannon';
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

function summarize(latencies: number[]): LatencyMs {
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
