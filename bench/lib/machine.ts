import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { r1, round } from './stats.js';
import { sleep } from './time.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  os: string;
  memoryGiB: number;
}

export function machineInfo(): MachineInfo {
  const all = cpus();
  return {
    cpu: all[0]?.model ?? 'unknown',
    cores: all.length,
    node: process.version,
    os: `${platform()} ${release()}`,
    memoryGiB: r1(totalmem() / 2 ** 30),
  };
}

/** Where the server and the load generator run: the server on core 0, the bench (load) on core 1. */
export interface Placement {
  /** The command prefix that pins the server, e.g. ['taskset', '-c', '0'], or [] when not pinned. */
  serverPrefix: string[];
  serverCores: string;
  loadCores: string;
  note: string;
}

const hasTaskset = () => spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/**
 * Pins this process (every thread: -a) to core 1 and plans the server for core 0, when taskset
 * exists and there are at least two cores. BENCH_NO_PIN=1 turns pinning off.
 */
export function placeProcesses(): Placement {
  const cores = cpus().length;
  if (process.env.BENCH_NO_PIN === '1') return { serverPrefix: [], serverCores: 'any', loadCores: 'any', note: 'pinning off (BENCH_NO_PIN=1)' };
  if (platform() !== 'linux' || !hasTaskset()) return { serverPrefix: [], serverCores: 'any', loadCores: 'any', note: 'not pinned: taskset is not available' };
  if (cores < 2) return { serverPrefix: [], serverCores: 'any', loadCores: 'any', note: 'not pinned: fewer than 2 cores' };
  const r = spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  if (r.status !== 0) return { serverPrefix: ['taskset', '-c', '0'], serverCores: '0', loadCores: 'any', note: 'server pinned to core 0; pinning the load generator failed' };
  return { serverPrefix: ['taskset', '-c', '0'], serverCores: '0', loadCores: '1', note: 'server on core 0, load generator on core 1 (taskset)' };
}

/**
 * The placement of a further server process pinned to `core` instead of the server core (e.g. a
 * second instance on the load generator's core); unchanged when nothing is pinned.
 */
export function placementOnCore(base: Placement, core: number): Placement {
  if (!base.serverPrefix.length || core >= cpus().length) return base;
  return { ...base, serverPrefix: ['taskset', '-c', String(core)], serverCores: String(core) };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds a process has used (user + system, all its threads), or undefined without /proc. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Busy seconds of each core since boot, from /proc/stat; undefined without /proc. */
export function coreBusySeconds(): number[] | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l));
    return lines.map((l) => {
      const [user, nice, system, , , irq, softirq, steal] = l.split(/\s+/).slice(1).map(Number);
      return (user + nice + system + irq + softirq + steal) / ticksPerSecond();
    });
  } catch {
    return undefined;
  }
}

/** Pids of the local PostgreSQL and Redis servers (their CPU is the stores', not a stranger's). */
function storePids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          return /^(postgres|redis-server)$/.test(readFileSync(`/proc/${d}/comm`, 'utf8').trim());
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU use over a window: the server's, this process's (the load generator), the stores', the rest. */
export interface CpuUse {
  /** Cores the server process kept busy on average (1.0 = one core fully). */
  serverCores: number | null;
  /** Cores this bench process (autocannon) kept busy. */
  loadCores: number | null;
  /** Cores the local PostgreSQL and Redis processes kept busy (0 on the embedded default). */
  storeCores: number | null;
  /** Cores busy with anything else (another test run, a compiler): it skews the figures. */
  foreignCores: number | null;
  /** Busy fraction of each core, everything included. */
  perCore: number[] | null;
}

export function cpuMeter(serverPid: number): { stop(): CpuUse } {
  const t0 = process.hrtime.bigint();
  const server0 = processCpuSeconds(serverPid);
  const self0 = process.cpuUsage();
  const cores0 = coreBusySeconds();
  const stores = storePids();
  const stores0 = new Map(stores.map((pid) => [pid, processCpuSeconds(pid)]));
  return {
    stop(): CpuUse {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const server1 = processCpuSeconds(serverPid);
      const self = process.cpuUsage(self0);
      const cores1 = coreBusySeconds();
      let storeSeconds = 0;
      for (const [pid, before] of stores0) {
        const after = processCpuSeconds(pid);
        if (before !== undefined && after !== undefined) storeSeconds += after - before;
      }
      const serverCores = server0 !== undefined && server1 !== undefined ? round((server1 - server0) / wall) : null;
      const loadCores = round((self.user + self.system) / 1e6 / wall);
      const storeCores = round(storeSeconds / wall);
      const perCore = cores0 && cores1 ? cores1.map((b, i) => round((b - cores0[i]) / wall)) : null;
      const total = perCore?.reduce((a, b) => a + b, 0);
      const foreignCores = total !== undefined && serverCores !== null ? round(Math.max(0, total - serverCores - loadCores - storeCores)) : null;
      return { serverCores, loadCores, storeCores, foreignCores, perCore };
    },
  };
}

/** Server CPU time per request (or per whatever `count` counts), µs, over a window of `seconds`; null without /proc or without requests. */
export function cpuMicrosPerRequest(cpu: CpuUse, seconds: number, count: number): number | null {
  return cpu.serverCores !== null && count ? Math.round((cpu.serverCores * seconds * 1e6) / count) : null;
}

/** Cores some processes use together from now until stop() (null without /proc, or when one of them is gone). */
export function coresMeter(pids: number[]): { stop(): number | null } {
  const sum = () => {
    let total = 0;
    for (const pid of pids) {
      const c = processCpuSeconds(pid);
      if (c === undefined) return undefined;
      total += c;
    }
    return total;
  };
  const c0 = sum();
  const t0 = performance.now();
  return {
    stop() {
      const c1 = sum();
      const s = (performance.now() - t0) / 1000;
      return c0 !== undefined && c1 !== undefined ? round((c1 - c0) / s) : null;
    },
  };
}

/** Cores kept busy by everything on the machine over `ms` (this bench process is idle meanwhile). */
export async function machineBusyCores(ms = 1000): Promise<number | null> {
  const a = coreBusySeconds();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const b = coreBusySeconds();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!a || !b) return null;
  return round((b.reduce((x, y) => x + y, 0) - a.reduce((x, y) => x + y, 0)) / wall);
}

/**
 * Waits up to `maxMs` for the machine to be quiet (under `threshold` busy cores); returns the busy
 * cores seen last. Other work on a 2-core machine (a test run, a compiler) skews every figure.
 */
export async function waitForQuiet(maxMs: number, threshold = 0.25): Promise<number | null> {
  const until = Date.now() + maxMs;
  let busy = await machineBusyCores();
  while (busy !== null && busy >= threshold && Date.now() < until) busy = await machineBusyCores();
  return busy;
}
