// The registry reached from our machines lacks some other platforms' optional binaries, so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lockfile.
// This adds an os/cpu-tagged entry for every missing optional dependency, which `npm ci` skips
// on a platform it does not match. Run after any `npm install` that changes the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
let added = 0;
for (const [path, meta] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${name}`;
    if (lock.packages[`node_modules/${name}`] || lock.packages[nested]) continue;
    let info;
    try {
      info = JSON.parse(execFileSync('npm', ['view', `${name}@${range}`, 'version', 'os', 'cpu', 'libc', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      info = {};
    }
    if (Array.isArray(info)) info = info[info.length - 1];
    const entry = { version: info.version ?? range.replace(/^[^\d]*/, ''), optional: true };
    for (const k of ['os', 'cpu', 'libc']) if (info[k]) entry[k] = [].concat(info[k]);
    if (!entry.os && !entry.cpu) {
      // Could not look it up: infer from the conventional name so npm ci skips it elsewhere.
      const os = name.match(/(darwin|win32|linux|freebsd|android|openharmony)/)?.[1];
      const cpu = name.match(/-(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64|wasm32)\b/)?.[1];
      entry.os = [os ?? 'none'];
      if (cpu) entry.cpu = [cpu];
    }
    lock.packages[`node_modules/${name}`] = entry;
    added++;
  }
}
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} optional platform entries`);
