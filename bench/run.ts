import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.js';
import { machineBusyCores, machineInfo, placeProcesses, waitForQuiet } from './lib/machine.js';
import { measuredWindows } from './lib/load.js';
import { printProfiles } from './lib/profile.js';
import { ROOT, setServerDefaults } from './lib/stack.js';
import { formatTable } from './lib/table.js';
import type { BenchContext, Settings } from './lib/types.js';
import { scenarios } from './scenarios/index.js';

const USAGE = `usage: npm run bench [-- [scenario...] [options]]
  scenarios: ${scenarios.map((s) => s.name).join(', ')} (default: all; --list describes them)
  --duration=S      seconds measured per load run (default 10)
  --warmup=S        seconds of warm-up before each measured run (default 2)
  --connections=N   concurrent connections (default 16)
  --quiet-wait=S    wait up to S seconds for other work on the machine to stop (default 20)
  --profile         run servers with --cpu-prof and print where their CPU went
  --env=NAME=VALUE  extra environment for every server (repeatable), e.g. --env=DATABASE_POOL_SIZE=20
  --node-arg=FLAG   extra node/V8 flag for every server (repeatable), e.g. --node-arg=--single-threaded-gc
  env: DATABASE_URL (a fresh lk_bench_* database on it, dropped after), REDIS_URL (a fresh key
       prefix, deleted after), BENCH_NO_PIN=1 (no taskset)`;

class UsageError extends Error {}

const NUMERIC = {
  duration: [1, 600],
  warmup: [0, 120],
  connections: [1, 1000],
  'quiet-wait': [0, 600],
} as const;

function parseArgs(argv: string[]): { names: string[]; settings: Settings; list: boolean } {
  const settings: Settings = { duration: 10, warmup: 2, connections: 16, quietWait: 20, profile: false, serverEnv: {}, serverNodeArgs: [] };
  const names: string[] = [];
  let list = false;
  for (const arg of argv) {
    if (arg === '--list') list = true;
    else if (arg === '--profile') settings.profile = true;
    else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else if (arg.startsWith('--env=')) {
      const m = /^--env=([A-Z][A-Z0-9_]*)=(.*)$/.exec(arg);
      if (!m) throw new UsageError(`--env takes NAME=VALUE, got "${arg.slice(6)}"`);
      settings.serverEnv[m[1]] = m[2];
    } else if (arg.startsWith('--node-arg=')) {
      const flag = arg.slice('--node-arg='.length);
      if (!/^--[a-z0-9-]+(=\S+)?$/.test(flag)) throw new UsageError(`--node-arg takes one flag such as --single-threaded-gc, got "${flag}"`);
      settings.serverNodeArgs.push(flag);
    }
    else if (arg.startsWith('--')) {
      const [key, value] = arg.slice(2).split('=', 2) as [keyof typeof NUMERIC, string | undefined];
      if (!(key in NUMERIC)) throw new UsageError(`unknown option ${arg}`);
      const n = Number(value);
      const [min, max] = NUMERIC[key];
      if (!value || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${key} takes a whole number from ${min} to ${max}, got "${value ?? ''}"`);
      if (key === 'quiet-wait') settings.quietWait = n;
      else settings[key] = n;
    } else if (!scenarios.some((s) => s.name === arg)) {
      throw new UsageError(`unknown scenario "${arg}"`);
    } else if (!names.includes(arg)) names.push(arg);
  }
  return { names: names.length ? names : scenarios.map((s) => s.name), settings, list };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) process.stderr.write(`bench: ${err.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    return err.message ? 2 : 0;
  }
  if (args.list) {
    for (const s of scenarios) process.stdout.write(`${s.name.padEnd(14)} ${s.description}\n`);
    return 0;
  }

  installSignalHandlers();
  const machine = machineInfo();
  const placement = placeProcesses();
  const ctx: BenchContext = {
    settings: args.settings,
    machine,
    placement,
    log: (line) => process.stderr.write(`  · ${line}\n`),
  };
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });

  process.stdout.write(`Latchkey bench: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}\n${placement.note}\n`);
  let failed = false;
  for (const name of args.names) {
    const scenario = scenarios.find((s) => s.name === name)!;
    process.stdout.write(`\n== ${scenario.name}: ${scenario.description}\n`);
    const profileDir = args.settings.profile ? join(tmpdir(), 'lk-bench-profiles', `${scenario.name}-${Date.now()}`) : undefined;
    setServerDefaults({ placement, env: args.settings.serverEnv, nodeArgs: [...args.settings.serverNodeArgs, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])] });
    if (args.settings.quietWait) ctx.log(`waiting up to ${args.settings.quietWait}s for a quiet machine`);
    const busyBefore = args.settings.quietWait ? await waitForQuiet(args.settings.quietWait * 1000) : await machineBusyCores(500);
    const busyWarning =
      busyBefore !== null && busyBefore >= 0.25
        ? `the machine was busy before this scenario (${busyBefore} cores used by other processes): figures are low and noisy`
        : undefined;
    if (busyWarning) process.stdout.write(`!! ${busyWarning}\n`);
    const date = new Date().toISOString();
    try {
      const result = await scenario.run(ctx);
      process.stdout.write(`${formatTable(result.table)}\n`);
      const notes = [...(result.notes ?? []), ...(busyWarning ? [busyWarning] : [])];
      for (const note of notes) process.stdout.write(`  ${note}\n`);
      const file = join(resultsDir, `${scenario.name}.json`);
      const record = {
        scenario: scenario.name,
        date,
        ok: result.failures.length === 0,
        machine: {
          ...machine,
          placement: { server: placement.serverCores, load: placement.loadCores, note: placement.note },
          busyCoresBefore: busyBefore,
        },
        settings: { ...args.settings, ...result.settings },
        figures: result.figures,
        failures: result.failures,
        notes,
      };
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
      process.stdout.write(`  wrote ${file.slice(ROOT.length + 1)}\n`);
      if (result.failures.length) {
        failed = true;
        process.stdout.write(`\n!! ${scenario.name} FAILED: the figures above are not valid\n${result.failures.map((f) => `!!   ${f}`).join('\n')}\n`);
      }
    } catch (err) {
      failed = true;
      process.stdout.write(`\n!! ${scenario.name} FAILED: ${(err as Error).stack ?? err}\n`);
    } finally {
      await cleanupAll();
    }
    if (profileDir) printProfiles(profileDir, measuredWindows.splice(0));
  }
  return failed ? 1 : 0;
}

main()
  .catch((err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    return 1;
  })
  .then(async (code) => {
    await cleanupAll();
    process.exit(code);
  });
