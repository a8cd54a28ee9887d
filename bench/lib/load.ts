import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { HttpProbe, type TimedRequest, type TimedResponse } from './http.js';
import { type CpuUse, cpuMeter, cpuMicrosPerRequest } from './machine.js';
import type { Window } from './profile.js';
import type { Server } from './stack.js';
import { type LatencyMs, r1, r3, summarize } from './stats.js';
import { sleep } from './time.js';

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
  /** Paced runs only: requests not sent because `maxOutstanding` were already outstanding (the server could not keep up). */
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

export interface AutocannonOptions {
  server: Server;
  title: string;
  connections: number;
  /** Seconds; the run stops itself then, and is stopped 30 s past that whatever happens. */
  duration: number;
  /** Seconds a request may take before autocannon counts it as a timeout. */
  timeout: number;
  request: autocannon.Request;
  verifyBody?: (body: string) => boolean;
}

/**
 * A closed-loop autocannon run (pipelining 1, one request in flight per connection), bounded: it
 * stops itself after `duration`, and is stopped 30 s past that. `onResponse` sees every answer.
 */
export function startAutocannon(
  o: AutocannonOptions,
  onResponse: (status: number, ms: number) => void,
): { instance: autocannon.Instance; done: Promise<autocannon.Result> } {
  let guard: NodeJS.Timeout | undefined;
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: `${o.server.url}${o.request.path ?? '/'}`,
        title: o.title,
        connections: o.connections,
        pipelining: 1,
        duration: o.duration,
        timeout: o.timeout,
        requests: [o.request],
        ...(o.verifyBody ? { verifyBody: o.verifyBody } : {}),
      },
      (err, result) => {
        clearTimeout(guard);
        if (err) reject(err);
        else resolve(result);
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => onResponse(status, ms));
    guard = setTimeout(() => instance.stop(), (o.duration + 30) * 1000);
  });
  return { instance, done };
}

/** One autocannon run of `duration` seconds, every response's latency recorded. */
async function fire(o: LoadOptions, duration: number, title: string): Promise<Run> {
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  const { done } = startAutocannon({ ...o, duration, title, timeout: 10 }, (_status, ms) => {
    if (latencies.length < 5_000_000) latencies.push(ms);
  });
  const result = await done;
  return { result, latencies, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Every measured run of this process, for --profile to cut the servers' CPU profiles by. */
export const measuredWindows: Window[] = [];

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** The figures of a measured run from what it recorded. */
function figuresOf(
  r: { latencies: number[]; seconds: number; non2xx: number; statusCodes: Record<string, number>; errors: number; timeouts: number; mismatches: number; cpu: CpuUse },
  extra: Partial<LoadFigures> = {},
): LoadFigures {
  const requests = r.latencies.length;
  return {
    requests,
    seconds: r3(r.seconds),
    requestsPerSecond: r1(requests / r.seconds),
    latencyMs: summarize(r.latencies),
    non2xx: r.non2xx,
    statusCodes: r.statusCodes,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    cpu: r.cpu,
    ...extra,
    serverCpuMicrosPerRequest: cpuMicrosPerRequest(r.cpu, r.seconds, requests),
  };
}

/** Warm-up, then the measured run, with the server's and the machine's CPU use over the latter. */
export async function measure(o: LoadOptions): Promise<LoadFigures> {
  let warmup: LoadFigures['warmup'];
  if (o.warmup > 0) {
    const w = await fire(o, o.warmup, `${o.title} (warm-up)`);
    warmup = {
      requests: w.latencies.length,
      requestsPerSecond: r1(w.latencies.length / w.seconds),
      non2xx: w.result.non2xx,
      errors: w.result.errors,
    };
  }
  const meter = cpuMeter(o.server.pid);
  const startUs = nowUs();
  const run = await fire(o, o.duration, o.title);
  measuredWindows.push({ title: o.title, startUs, endUs: nowUs() });
  const cpu = meter.stop();
  const statusCodes = Object.fromEntries(Object.entries(run.result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
  const { non2xx, errors, timeouts, mismatches } = run.result;
  const figures = figuresOf({ latencies: run.latencies, seconds: run.seconds, non2xx, statusCodes, errors, timeouts, mismatches, cpu });
  return warmup ? { ...figures, warmup } : figures;
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

/** A paced run's rate: `share` of a measured saturated rate, to 10 req/s, at least 50 req/s. */
export const pacedRateOf = (saturatedRps: number, share: number) => Math.max(50, Math.round((saturatedRps * share) / 10) * 10);

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
  /**
   * Requests outstanding at most (sent, or waiting for one of the 64 keep-alive connections); one
   * due past it is dropped (counted in `dropped`). Default 64: no request ever waits for a
   * connection, and a server that falls behind shows it as drops (the slowest moments are then
   * left out of the p99). Larger: requests wait for a connection, and the wait counts in their
   * latency (from when they were due, give or take the generator's own lateness).
   */
  maxOutstanding?: number;
  /** Seconds given to the requests still outstanding after the last one was sent. Default 15. */
  graceSeconds?: number;
  /**
   * Also report the generator's own timing: its event-loop delay over the run (a 1 ms monitor,
   * which wakes the bench process every millisecond: hence not by default) and the sends more than
   * 2 ms behind their schedule.
   */
  selfCheck?: boolean;
  /** Sees the answer to the i-th request as it arrives (e.g. to time what the request set off). */
  onResponse?: (i: number, r: TimedResponse) => void;
}

export interface PacedFigures extends LoadFigures {
  dropped: number;
}

/** What `selfCheck` adds: the load generator's timing is only as good as this. */
export interface GeneratorCheck {
  /** The load generator's own event-loop delay over the run, ms. */
  generatorLoopDelayMs: { p99: number; max: number };
  /** Sends more than 2 ms behind their schedule (the generator's own lateness). */
  lateSends: number;
}

/**
 * Latency below saturation, open loop: request i is due at t0 + i/rate whatever the answers take
 * (autocannon's rate limit sends each second's quota in a burst, which queues), over up to 64
 * keep-alive connections (see `maxOutstanding` for what happens when all are busy). Bounded: nothing
 * is sent after `duration`, stragglers are given `graceSeconds`, and the ones still unanswered then
 * count as errors.
 */
export function measurePaced(o: PacedOptions & { selfCheck: true }): Promise<PacedFigures & GeneratorCheck>;
export function measurePaced(o: PacedOptions): Promise<PacedFigures>;
export async function measurePaced(o: PacedOptions): Promise<PacedFigures & Partial<GeneratorCheck>> {
  const maxOutstanding = o.maxOutstanding ?? 64;
  const probe = new HttpProbe(o.server.url); // keep-alive, up to 64 connections
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let mismatches = 0;
  let dropped = 0;
  let lateSends = 0;
  const inFlight = new Set<Promise<void>>();
  const loop = o.selfCheck ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  loop?.enable();
  const meter = cpuMeter(o.server.pid);
  const startUs = nowUs();
  const t0 = performance.now();
  const total = Math.round(o.rate * o.duration);
  let sent = 0;
  try {
    while (sent < total) {
      const wait = t0 + (sent * 1000) / o.rate - performance.now();
      if (wait > 0) await sleep(wait);
      // Send what is due, the timer's lateness included (the sends are counted if > 2 ms late).
      const now = performance.now();
      while (sent < total && t0 + (sent * 1000) / o.rate <= now) {
        if (now - (t0 + (sent * 1000) / o.rate) > 2) lateSends++;
        if (inFlight.size >= maxOutstanding) {
          dropped++;
          sent++;
          continue;
        }
        const i = sent++;
        const p = probe
          .send(o.request(i))
          .then((r) => {
            o.onResponse?.(i, r);
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
    await Promise.race([Promise.all(inFlight), sleep((o.graceSeconds ?? 15) * 1000)]);
  } finally {
    probe.close();
    loop?.disable();
  }
  const seconds = (performance.now() - t0) / 1000;
  measuredWindows.push({ title: o.title, startUs, endUs: nowUs() });
  const cpu = meter.stop();
  // Still outstanding after the grace: neither answered nor failed.
  const unanswered = Math.max(0, total - dropped - latencies.length - errors);
  const check: GeneratorCheck | undefined = loop && { lateSends, generatorLoopDelayMs: { p99: r3(loop.percentile(99) / 1e6), max: r3(loop.max / 1e6) } };
  return figuresOf({ latencies, seconds, non2xx, statusCodes, errors: errors + unanswered, timeouts: 0, mismatches, cpu }, { dropped, ...check }) as PacedFigures & Partial<GeneratorCheck>;
}
