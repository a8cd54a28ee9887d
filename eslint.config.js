// ESLint for Latchkey: typescript-eslint `recommended` on everything, plus the import boundaries.
//
// The boundaries are not written here: each module's README is the configuration. A module is a
// folder src/<name>/; its src/<name>/README.md has a line
//
//   May call: `users`, `infra/crypto`, `config`.
//
// (backticked module names, or a folder inside one, comma separated; "nothing" or "none" for
// none; a missing README or a README without the line means "may call nothing"). This file reads
// those lines every time ESLint starts and turns them into `import-x/no-restricted-paths` zones, so
// changing a README changes the lint. Fixed rules on top of the READMEs:
//   - the top-level files src/*.ts are the composition root ("app"): they may import anything, and
//     no module may import them;
//   - a write port is a file `*.revocation-port.ts` anywhere under src/<module>/: only
//     src/revocation/**, the owning module itself and the composition root may import it (and
//     src/revocation/ may import every module's ports, whatever its README lists);
//   - the denylist and the revocations table (src/revocation/**/*.store.ts, denylist-sync.service.ts,
//     revocation.repository.ts, persistence/) are imported only inside src/revocation/;
//   - a `*.controller.ts` may not import another controller;
//   - persistence (`*.repository.ts`, anything under a `persistence/` folder) may not import a
//     `*.service.ts`;
//   - migrations/ may import nothing from src/ but src/infra/;
//   - src/ and migrations/ may not import test/, bench/ or scripts/ (test/ and bench/ may import
//     anything).
// An import is an import: `import type`, re-exports and dynamic `import()` count the same.
// Relative imports (`./x.js` -> `./x.ts`) are resolved by eslint-import-resolver-typescript with
// tsconfig.json; `import-x/no-unresolved` on relative imports makes sure none slips past the
// boundary rule unresolved. scripts/check-lint-boundaries.mjs proves the rules by linting planted
// files (it runs as part of `npm run lint`).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = path.dirname(fileURLToPath(import.meta.url)).split(path.sep).join('/');
if (/[*?[\]{}()!+@]/.test(root)) {
  // no-restricted-paths matches absolute globs; a glob character in the checkout path breaks them.
  throw new Error(`eslint.config.js: the checkout path ${root} contains a glob character; move it`);
}
const src = `${root}/src`;

/** Module folders the design names, whether or not they exist yet, plus every folder in src/. */
const KNOWN_MODULES = ['config', 'infra', 'users', 'auth', 'tokens', 'revocation', 'audit', 'admin', 'health', 'webhooks'];
const modules = [
  ...new Set([
    ...KNOWN_MODULES,
    ...readdirSync(src, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name),
  ]),
].sort();

/**
 * What src/<name>/README.md says the module may call: a list of `module` or `module/folder` names.
 * Exported for scripts/check-lint-boundaries.mjs.
 */
export function readMayCall(name, srcDir = src) {
  const file = `${srcDir}/${name}/README.md`;
  if (!existsSync(file)) return { file, line: 'nothing (no README)', allowed: [] };
  const text = readFileSync(file, 'utf8');
  const at = text.search(/May call:/i);
  if (at < 0) return { file, line: 'nothing (the README has no `May call:` line)', allowed: [] };
  // The list runs to the end of its sentence (a period before a space or the end) or paragraph.
  const list = text.slice(at + 'May call:'.length).split(/\.(?=\s|$)|\n\s*\n/)[0];
  const allowed = [...list.matchAll(/`([^`]+)`/g)].map((m) => m[1].trim().replace(/^src\//, '').replace(/\/+$/, ''));
  if (allowed.length === 0 && !/\b(nothing|none)\b/i.test(list)) {
    throw new Error(`${file}: cannot read "May call:${list}": give backticked module names, or "nothing"`);
  }
  for (const entry of allowed) {
    const top = entry.split('/')[0];
    if (!modules.includes(top)) {
      throw new Error(`${file}: "May call" names \`${entry}\`, but there is no module src/${top}/ (modules: ${modules.join(', ')})`);
    }
  }
  return { file, line: list.replace(/\s+/g, ' ').trim() || 'nothing', allowed };
}

const otherRoots = ['test', 'bench', 'scripts'].map((d) => `${root}/${d}`);

/** What the revocation module keeps behind its door: only RevocationService and RevocationChecker leave it. */
const REVOCATION_INTERNALS = [
  `${src}/revocation/**/*.store.ts`,
  `${src}/revocation/denylist-sync*.ts`,
  `${src}/revocation/revocation.repository*.ts`,
  `${src}/revocation/persistence/**`,
];
const zones = [];

for (const target of modules) {
  const { file, line, allowed } = readMayCall(target);
  const readme = path.relative(root, file);
  for (const callee of modules) {
    if (callee === target || allowed.includes(callee)) continue;
    const partly = allowed.filter((a) => a.startsWith(`${callee}/`));
    const except = partly.map((a) => `${src}/${a}/**`);
    // The revocation module is what write ports are for: it may import any module's port.
    if (target === 'revocation') except.push(`${src}/${callee}/**/*.revocation-port.ts`);
    zones.push({
      target: `${src}/${target}`,
      from: `${src}/${callee}/**`,
      except,
      message:
        `[module-boundary] ${target} may not import ${callee}${partly.length ? ` outside ${partly.join(', ')}` : ''}: ` +
        `${readme} says "May call: ${line}".`,
    });
  }
  zones.push({
    target: `${src}/${target}`,
    from: `${src}/*.ts`,
    message: `[module-boundary] ${target} may not import the composition root (src/*.ts); the root imports modules, not the other way.`,
  });
  if (target !== 'revocation') {
    zones.push({
      target: `${src}/${target}`,
      from: REVOCATION_INTERNALS,
      message: `[revocation-door] ${target} may not reach the denylist or the revocations table (DenylistStore, its adapters, DenylistSync, RevocationRepository): revoke through RevocationService, check through RevocationChecker.`,
    });
    zones.push({
      target: `${src}/${target}`,
      from: `${src}/**/*.revocation-port.ts`,
      except: [`${src}/${target}/**`],
      message: `[write-port] ${target} may not import another module's write port (*.revocation-port): only src/revocation/, the owning module and the composition root may.`,
    });
  }
}

zones.push(
  {
    target: `${root}/migrations`,
    from: src,
    except: [`${src}/infra`],
    message: '[module-boundary] migrations may import nothing from src/ but src/infra/.',
  },
  {
    target: `${root}/migrations`,
    from: `${src}/**/*.revocation-port.ts`,
    message: '[write-port] migrations may not import a write port (*.revocation-port).',
  },
  {
    target: `${src}/**/*.controller.ts`,
    from: `${src}/**/*.controller.ts`,
    message: '[controller] a controller may not import another controller: move what they share into a service or a plain module.',
  },
  {
    target: [`${src}/**/*.repository.ts`, `${src}/**/persistence/**`],
    from: `${src}/**/*.service.ts`,
    message: '[persistence] persistence code (*.repository.ts, persistence/) may not import a service: services call repositories, not the other way.',
  },
  {
    target: [src, `${root}/migrations`],
    from: otherRoots,
    message: '[module-boundary] src/ and migrations/ may not import test/, bench/ or scripts/.',
  },
);

export default defineConfig(
  {
    ignores: ['dist/**', 'coverage/**', 'data/**', 'node_modules/**', 'bench/results/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // One import statement per module (a second one is always a merge left undone).
    plugins: { 'import-x': importX },
    rules: { 'import-x/no-duplicates': 'error' },
  },
  {
    files: ['test/**', 'src/**/*.spec.ts'],
    languageOptions: { globals: { ...globals.jest } },
  },
  {
    // The e2e tests read untyped JSON off the wire (`body: any`, `Record<string, any>` claims)
    // throughout; typing every response body would add casts, not safety.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/**/*.ts', 'migrations/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${root}/tsconfig.json` })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones }],
      // Only relative imports: an unresolved one would slip past the boundary rule unseen.
      'import-x/no-unresolved': ['error', { ignore: ['^[^.]'] }],
    },
  },
);
