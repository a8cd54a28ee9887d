import type { MachineInfo, Placement } from './machine.js';

/** Knobs from the command line (`npm run bench -- grants --duration=5`); a scenario may ignore some. */
export interface Settings {
  /** Seconds measured per load run. */
  duration: number;
  /** Seconds of warm-up before each measured run. */
  warmup: number;
  /** Concurrent connections of the load generator. */
  connections: number;
  /** Seconds to wait, before each scenario, for other work on the machine to stop. */
  quietWait: number;
  /** Start servers with --cpu-prof and print where their CPU went. */
  profile: boolean;
  /** Extra environment for every server (`--env=DATABASE_POOL_SIZE=20`), for experiments. */
  serverEnv: Record<string, string>;
  /** From `--node-arg=FLAG`: node/V8 flags for every server. */
  serverNodeArgs: string[];
}

export interface BenchContext {
  settings: Settings;
  machine: MachineInfo;
  /** Where the server and the load generator run (startServer applies it). */
  placement: Placement;
  /** A progress line on stderr. */
  log(line: string): void;
}

/** One printed table row: column title → value. Every row of a table has the same columns. */
export type Row = Record<string, string | number | null>;

export interface ScenarioResult {
  /** The settings this scenario actually used (merged into the JSON with the global ones). */
  settings: Record<string, unknown>;
  /** The figures, as they go into bench/results/<scenario>.json. */
  figures: Record<string, unknown>;
  /** What is printed. */
  table: Row[];
  /** Anything that makes the figures untrustworthy (non-2xx, errors): the run exits 1. */
  failures: string[];
  /** Printed under the table and kept in the JSON. */
  notes?: string[];
}

/**
 * A benchmark: one file in bench/scenarios/ plus one line in bench/scenarios/index.ts. It starts
 * what it needs (provisionStores/startServer from lib/stack.ts: everything is cleaned up by the
 * runner even when it throws), drives load (lib/load.ts), and returns its figures.
 */
export interface Scenario {
  name: string;
  /** One line for `npm run bench -- --list`. */
  description: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
