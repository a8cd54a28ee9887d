/** `n` rounded to `digits` decimals (the bench's figures: 1 for rates, 2 for cores, 3 for ms). */
export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
/** To one decimal (req/s, seconds). */
export const r1 = (n: number) => round(n, 1);
/** To three decimals (ms, to the µs; ratios). */
export const r3 = (n: number) => round(n, 3);

export interface LatencyMs {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Mean, percentiles and max of a set of latencies (ms), to the microsecond. */
export function summarize(latencies: number[]): LatencyMs {
  const sorted = Float64Array.from(latencies).sort();
  const mean = latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1);
  return {
    mean: r3(mean),
    p50: r3(percentile(sorted, 0.5)),
    p90: r3(percentile(sorted, 0.9)),
    p99: r3(percentile(sorted, 0.99)),
    max: r3(sorted[sorted.length - 1] ?? NaN),
  };
}

/** The median of some figures (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The median of the figures that are there (null and undefined left out: e.g. no /proc); null when none is. */
export function medianOf(values: (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number');
  return v.length ? median(v) : null;
}
