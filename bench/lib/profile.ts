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

/**
 * Self time of a V8 .cpuprofile grouped by owner (package / file) and by function: the two tables
 * that say where a server's CPU went.
 */
export function summarizeProfile(file: string, top = 12): { byOwner: Row[]; byFunction: Row[]; totalMs: number } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
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

/** Prints the summary of every .cpuprofile in `dir`. */
export function printProfiles(dir: string): void {
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
    const s = summarizeProfile(join(dir, f));
    process.stdout.write(`\n  CPU profile ${join(dir, f)} (${s.totalMs} ms busy, whole server life incl. start-up and setup)\n`);
    process.stdout.write(`${formatTable(s.byOwner).replace(/^/gm, '  ')}\n\n${formatTable(s.byFunction).replace(/^/gm, '  ')}\n`);
  }
}
