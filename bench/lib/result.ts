import type { ScenarioResult } from './types.js';

/**
 * The result of a scenario that cannot run on these stores (e.g. it needs REDIS_URL): printed as a
 * one-row table, written to its JSON with `stoodAside: true`, and not a failure (the run exits 0).
 */
export function standAside(reason: string, settings: Record<string, unknown> = {}): ScenarioResult {
  return {
    settings,
    figures: { stoodAside: true, reason },
    table: [{ result: 'stood aside', reason }],
    failures: [],
    notes: [`stood aside: ${reason}`],
  };
}

/** A server's recent warnings and errors (it runs with LOG_LEVEL=warn), for a run that saw failures. */
export function logProblems(output: string, max = 8): string[] {
  return output
    .split('\n')
    .filter((l) => /"level":(40|50|60)|error|warn/i.test(l))
    .slice(-max)
    .map((l) => l.slice(0, 400));
}

/** The order of a scenario's runs, for its settings: `sides` in turn, `rounds` times ("A B A B …"). */
export function turns(sides: string[], rounds: number): string {
  return Array.from({ length: rounds }, () => sides.join(' ')).join(' ');
}
