// Proves the import-boundary lint (eslint.config.js) by linting planted files: it writes small
// files into src/ and migrations/, runs ESLint's Node API on them with the project's own config,
// checks that every wrong-way import fails with the boundary rule and every right-way import
// passes, and always deletes what it planted (try/finally, and on SIGINT/SIGTERM).
//
// Two parts:
//   1. fixed cases from the issue: infra -> a feature, tokens -> auth (also as `import type`, a
//      re-export and a dynamic import), a write port imported outside revocation, a controller
//      importing a controller, persistence importing a service, migrations -> src beyond infra, a
//      module importing the composition root, an unresolvable relative import;
//   2. the whole README matrix: for every pair of existing module folders (T, C) a planted file in
//      src/T imports a planted file in src/C, and must pass exactly when src/T/README.md's
//      `May call:` line lists C (or T is C). A `module/folder` entry is checked inside and outside
//      the folder.
//
// Planted files are named `__planted_<pid>__*`; a stale one left by a killed run (its pid gone) is
// removed at the start. Exit 0 when every case holds, 1 otherwise. Prints the failing cases and a
// summary; `--verbose` prints every case with the message it got.
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { readMayCall } from '../eslint.config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const BOUNDARY_RULE = 'import-x/no-restricted-paths';
const tag = `__planted_${process.pid}__`;
const verbose = process.argv.includes('--verbose');

const planted = []; // files we wrote
const createdDirs = []; // directories we created (removed if empty)

function removeStale() {
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) {
        if (d.name !== 'node_modules') walk(p);
        continue;
      }
      const m = d.name.match(/^__planted_(\d+)__/);
      if (!m || Number(m[1]) === process.pid) continue;
      try {
        process.kill(Number(m[1]), 0);
      } catch (e) {
        if (e.code === 'ESRCH') {
          rmSync(p, { force: true });
          console.log(`removed a stale planted file: ${path.relative(root, p)}`);
        }
      }
    }
  };
  for (const d of ['src', 'migrations', 'scripts']) walk(path.join(root, d));
}

function plant(rel, text) {
  const file = path.join(root, rel);
  const dir = path.dirname(file);
  if (!existsSync(dir)) {
    let top = dir;
    while (!existsSync(path.dirname(top))) top = path.dirname(top);
    mkdirSync(dir, { recursive: true });
    createdDirs.push(top);
  }
  if (existsSync(file)) throw new Error(`refusing to overwrite ${rel}`);
  writeFileSync(file, text);
  planted.push(file);
  return file;
}

function cleanup() {
  for (const f of planted.splice(0)) rmSync(f, { force: true });
  for (const d of createdDirs.splice(0).reverse()) {
    try {
      rmdirSync(d, { recursive: false });
    } catch {
      // not empty: someone else put something there; leave it
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

/** A file that exports one value, to be imported. */
const target = (name = 'PLANTED') => `export const ${name} = 1;\n`;
/** A file importing `PLANTED` from `spec` and using it. */
const importer = (spec) => `import { PLANTED } from '${spec}';\n\nexport const used = PLANTED;\n`;
const rel = (fromRel, toRel) => {
  let r = path.posix.relative(path.posix.dirname(fromRel), toRel).replace(/\.ts$/, '.js');
  if (!r.startsWith('.')) r = `./${r}`;
  return r;
};

const moduleDirs = readdirSync(src, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const need = ['infra', 'users', 'auth', 'tokens', 'admin', 'revocation', 'health'];
const missing = need.filter((m) => !moduleDirs.includes(m));

const cases = []; // { name, file, expect: 'pass' | 'fail', tagText?, rule? }
const fail = (name, file, tagText, rule = BOUNDARY_RULE) => cases.push({ name, file, expect: 'fail', tagText, rule });
const pass = (name, file) => cases.push({ name, file, expect: 'pass' });

removeStale();
let ok;
try {
  if (missing.length) throw new Error(`expected module folders src/${missing.join(', src/')}`);

  // Targets: one plain file in every module folder, plus the folders of `module/folder` entries.
  const targetOf = {};
  for (const m of moduleDirs) {
    targetOf[m] = `src/${m}/${tag}.target.ts`;
    plant(targetOf[m], target());
  }

  // ---- 1. fixed cases -----------------------------------------------------------------------
  const port = `src/users/${tag}.revocation-port.ts`;
  plant(port, `export interface PlantedPort {\n  lock(userId: string): Promise<void>;\n}\nexport const PLANTED = Symbol('PlantedPort');\n`);

  fail('infra imports a feature (users)', plant(`src/infra/${tag}.feature.ts`, importer(rel(`src/infra/x.ts`, targetOf.users))), '[module-boundary]');
  fail('tokens imports auth', plant(`src/tokens/${tag}.auth.ts`, importer(rel('src/tokens/x.ts', targetOf.auth))), '[module-boundary]');
  fail(
    'tokens imports auth, type-only',
    plant(`src/tokens/${tag}.auth-type.ts`, `import type { PLANTED } from '${rel('src/tokens/x.ts', targetOf.auth)}';\n\nexport type Used = typeof PLANTED;\n`),
    '[module-boundary]',
  );
  fail('tokens re-exports auth', plant(`src/tokens/${tag}.auth-reexport.ts`, `export { PLANTED } from '${rel('src/tokens/x.ts', targetOf.auth)}';\n`), '[module-boundary]');
  fail(
    'tokens imports auth dynamically',
    plant(`src/tokens/${tag}.auth-dynamic.ts`, `export const load = () => import('${rel('src/tokens/x.ts', targetOf.auth)}');\n`),
    '[module-boundary]',
  );
  fail(
    'tokens imports auth, deep path',
    plant(`src/tokens/sub/${tag}.auth-deep.ts`, importer(rel('src/tokens/sub/x.ts', targetOf.auth))),
    '[module-boundary]',
  );

  // write port: admin may call users (its README says so), but not users' write port
  fail('admin imports a users write port', plant(`src/admin/${tag}.port.ts`, importer(rel('src/admin/x.ts', port))), '[write-port]');
  fail('tokens imports a users write port', plant(`src/tokens/${tag}.port.ts`, importer(rel('src/tokens/x.ts', port))), '[write-port]');
  fail('admin imports a write port, type-only', plant(`src/admin/${tag}.port-type.ts`, `import type { PlantedPort } from '${rel('src/admin/x.ts', port)}';\n\nexport type Used = PlantedPort;\n`), '[write-port]');
  pass('revocation imports a users write port', plant(`src/revocation/${tag}.port.ts`, importer(rel('src/revocation/x.ts', port))));
  pass('revocation (deeper) imports a users write port', plant(`src/revocation/sub/${tag}.port.ts`, importer(rel('src/revocation/sub/x.ts', port))));
  pass('users (the owner) imports its own write port', plant(`src/users/${tag}.port-owner.ts`, importer(rel('src/users/x.ts', port))));
  pass('the composition root imports a write port', plant(`src/${tag}.root-port.ts`, importer(rel('src/x.ts', port))));

  // the revocation door: the denylist stays inside src/revocation
  const store = plant(`src/revocation/${tag}.store.ts`, target());
  fail('admin imports a denylist store', plant(`src/admin/${tag}.store.ts`, importer(rel('src/admin/x.ts', path.relative(root, store)))), '[revocation-door]');
  fail('health imports a denylist store', plant(`src/health/${tag}.store.ts`, importer(rel('src/health/x.ts', path.relative(root, store)))), '[revocation-door]');
  pass('revocation imports its own denylist store', plant(`src/revocation/${tag}.store-user.ts`, importer(rel('src/revocation/x.ts', path.relative(root, store)))));

  // controllers
  const ctlB = plant(`src/tokens/${tag}.b.controller.ts`, target());
  fail('a controller imports a controller', plant(`src/tokens/${tag}.a.controller.ts`, importer(rel('src/tokens/x.ts', path.relative(root, ctlB)))), '[controller]');
  pass('a controller imports a plain file of its module', plant(`src/tokens/${tag}.c.controller.ts`, importer(rel('src/tokens/x.ts', targetOf.tokens))));

  // persistence
  const svc = plant(`src/users/${tag}.service.ts`, target());
  fail('a *.repository.ts imports a service', plant(`src/users/${tag}.repository.ts`, importer(rel('src/users/x.ts', path.relative(root, svc)))), '[persistence]');
  fail('a persistence/ file imports a service', plant(`src/users/persistence/${tag}.adapter.ts`, importer(rel('src/users/persistence/x.ts', path.relative(root, svc)))), '[persistence]');
  pass('a persistence/ file imports a plain file', plant(`src/users/persistence/${tag}.plain.ts`, importer(rel('src/users/persistence/x.ts', targetOf.users))));

  // composition root, migrations, scripts, resolution
  pass('the composition root imports a feature', plant(`src/${tag}.root.ts`, importer(rel('src/x.ts', targetOf.auth))));
  const rootTarget = plant(`src/${tag}.root-target.ts`, target());
  fail('a module imports the composition root', plant(`src/auth/${tag}.root.ts`, importer(rel('src/auth/x.ts', path.relative(root, rootTarget)))), '[module-boundary]');
  fail('migrations import a feature', plant(`migrations/${tag}.feature.ts`, importer(rel('migrations/x.ts', targetOf.users))), '[module-boundary]');
  pass('migrations import infra', plant(`migrations/${tag}.infra.ts`, importer(rel('migrations/x.ts', targetOf.infra))));
  const scriptTarget = plant(`scripts/${tag}.target.ts`, target());
  fail('src imports scripts/', plant(`src/users/${tag}.scripts.ts`, importer(rel('src/users/x.ts', path.relative(root, scriptTarget)))), '[module-boundary]');
  fail('an unresolvable relative import', plant(`src/infra/${tag}.unresolved.ts`, importer('../users/does-not-exist.js')), '', 'import-x/no-unresolved');

  // ---- 2. the README matrix -----------------------------------------------------------------
  for (const t of moduleDirs) {
    const { allowed } = readMayCall(t);
    for (const c of moduleDirs) {
      if (c === t) continue;
      const may = allowed.includes(c);
      const file = plant(`src/${t}/${tag}.calls-${c}.ts`, importer(rel(`src/${t}/x.ts`, targetOf[c])));
      if (may) pass(`README matrix: ${t} -> ${c} (listed)`, file);
      else fail(`README matrix: ${t} -> ${c} (not listed)`, file, '[module-boundary]');
    }
    for (const entry of allowed.filter((a) => a.includes('/'))) {
      const dir = `src/${entry}`;
      if (!existsSync(path.join(root, dir))) continue;
      const inner = plant(`${dir}/${tag}.target.ts`, target());
      const name = entry.replace(/\//g, '-');
      pass(`README matrix: ${t} -> ${entry} (listed)`, plant(`src/${t}/${tag}.calls-${name}.ts`, importer(rel(`src/${t}/x.ts`, path.relative(root, inner)))));
    }
  }

  // ---- lint them -------------------------------------------------------------------------
  const eslint = new ESLint({ cwd: root });
  const results = await eslint.lintFiles(cases.map((c) => c.file));
  const byFile = new Map(results.map((r) => [r.filePath, r.messages]));
  let bad = 0;
  for (const c of cases) {
    const messages = byFile.get(c.file) ?? [];
    const brief = messages.map((m) => `${m.ruleId ?? 'fatal'}: ${m.message}`);
    let good;
    if (c.expect === 'pass') good = messages.length === 0;
    else good = messages.length > 0 && messages.every((m) => m.ruleId === c.rule && m.message.includes(c.tagText));
    if (!good) bad++;
    const shown = c.expect === 'fail' && messages[0] ? ` -> ${messages[0].message.replace(/^Unexpected path "[^"]*" imported in restricted zone\. /, '')}` : '';
    if (good && !verbose) continue;
    console.log(`${good ? 'ok  ' : 'FAIL'} ${c.expect === 'pass' ? 'passes' : 'fails '}  ${c.name}${good ? shown : ''}`);
    if (!good) {
      console.log(`       ${path.relative(root, c.file)}: expected to ${c.expect}${c.expect === 'fail' ? ` with ${c.rule} ${c.tagText}` : ''}, got:`);
      for (const b of brief.length ? brief : ['(no problems)']) console.log(`         ${b}`);
    }
  }
  const matrix = cases.filter((c) => c.name.startsWith('README matrix')).length;
  console.log(
    `lint boundaries: ${cases.length - bad}/${cases.length} planted-file cases hold ` +
      `(${cases.length - matrix} fixed cases, ${matrix} from the README matrix of ${moduleDirs.length} modules)` +
      (verbose ? '' : '; --verbose lists them'),
  );
  ok = bad === 0;
} finally {
  cleanup();
}
process.exit(ok ? 0 : 1);
