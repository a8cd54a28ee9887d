import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTable } from './table.js';
import type { Row } from './types.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which code a frame belongs to: a package, Latchkey's own file, node itself, or V8 (GC, idle). */
function owner(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/dist\/(src\/.*)$/.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

/** A stretch of time on the monotonic clock, µs (process.hrtime and V8's profiler share it on Linux). */
export interface Window {
  title: string;
  startUs: number;
  endUs: number;
}

/**
 * Self time of a V8 .cpuprofile grouped by owner (package / file) and by function: the two tables
 * that say where a server's CPU went. With a window, only the samples taken inside it count.
 */
export function summarizeProfile(file: string, window?: Window, top = 12): { byOwner: Row[]; byFunction: Row[]; totalMs: number } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window.startUs || t > window.endUs)) continue;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const o = owner(url, functionName);
    owners.set(o, (owners.get(o) ?? 0) + us);
    const f = `${functionName || '(anonymous)'} ${o}:${lineNumber + 1}`;
    functions.set(f, (functions.get(f) ?? 0) + us);
  }
  const rows = (m: Map<string, number>, col: string) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ [col]: k, ms: Math.round(us / 1000), '%': Math.round((us / total) * 1000) / 10 }));
  return { byOwner: rows(owners, 'where (self time, idle excluded)'), byFunction: rows(functions, 'function'), totalMs: Math.round(total / 1000) };
}

/** Prints the summary of every .cpuprofile in `dir`: per measured window, or its whole life. */
export function printProfiles(dir: string, windows: Window[] = []): void {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    // none written
  }
  if (!files.length) {
    process.stdout.write(`  (no CPU profile was written to ${dir})\n`);
    return;
  }
  for (const f of files) {
    const file = join(dir, f);
    for (const w of windows.length ? windows : [undefined]) {
      const s = summarizeProfile(file, w);
      if (w && !s.totalMs) continue; // another server's window
      process.stdout.write(`\n  CPU profile ${file}: ${w ? `"${w.title}", measured run only` : 'whole server life'} (${s.totalMs} ms busy)\n`);
      process.stdout.write(`${formatTable(s.byOwner).replace(/^/gm, '  ')}\n\n${formatTable(s.byFunction).replace(/^/gm, '  ')}\n`);
    }
  }
}
