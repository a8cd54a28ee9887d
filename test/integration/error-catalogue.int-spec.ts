import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configSchema } from '../../src/config/config.schema.js';
import { declaredErrors, type ErrorSpec } from '../../src/infra/errors/error-catalogue.js';

/**
 * The error catalogue: every module declares its codes in its `*.errors.ts`; docs/errors.md lists
 * every one of them with its status (and its RFC 6749 value); the code uses no other code.
 */
const root = join(import.meta.dirname, '../..');
const src = join(root, 'src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

const sources = filesUnder(src).filter((f) => !f.endsWith('.spec.ts'));

/** The rows of docs/errors.md's tables: `| \`CODE\` | status | ... | oauth |`. */
function documented(): Map<string, { status: number; oauth: string | null; line: string }> {
  const rows = new Map<string, { status: number; oauth: string | null; line: string }>();
  for (const line of readFileSync(join(root, 'docs/errors.md'), 'utf8').split('\n')) {
    const m = /^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (!m) continue;
    const oauth = /`([a-z_]+)`/.exec(m[4])?.[1] ?? null;
    rows.set(m[1], { status: Number(m[2]), oauth, line });
  }
  return rows;
}

let catalogue: ErrorSpec[];

beforeAll(async () => {
  // Every module's catalogue registers itself when imported.
  for (const file of sources.filter((f) => f.endsWith('.errors.ts'))) await import(pathToFileURL(file).href);
  catalogue = declaredErrors();
});

describe('the error catalogue', () => {
  it('has each module declare its codes in one *.errors.ts', () => {
    const modules = new Set(catalogue.map((s) => s.module));
    expect([...modules].sort()).toEqual(['admin', 'auth', 'infra', 'oauth', 'revocation', 'tokens', 'users', 'webhooks']);
    for (const file of sources) {
      if (file.endsWith('.errors.ts') || file.endsWith('error-catalogue.ts')) continue;
      expect({ file: relative(root, file), declares: readFileSync(file, 'utf8').includes('defineErrors(') }).toEqual({ file: relative(root, file), declares: false });
    }
  });

  it('is listed in full in docs/errors.md, with the same status and RFC 6749 value, and nothing else is', () => {
    const docs = documented();
    for (const spec of catalogue) {
      expect({ code: spec.code, documented: docs.get(spec.code) ? { status: docs.get(spec.code)!.status, oauth: docs.get(spec.code)!.oauth } : 'missing' }).toEqual({
        code: spec.code,
        documented: { status: spec.status, oauth: spec.oauth ?? null },
      });
    }
    const declared = new Set(catalogue.map((s) => s.code));
    expect([...docs.keys()].filter((c) => !declared.has(c))).toEqual([]);
  });

  it('is the only source of codes: no code literal in src/ outside the catalogues', () => {
    const declared = new Set(catalogue.map((s) => s.code));
    // Environment variable names are SCREAMING_SNAKE too; so is one DI token.
    const notCodes = new Set([...Object.keys(configSchema.shape), 'REDIS_CLOSER']);
    const strays: string[] = [];
    for (const file of sources) {
      if (file.endsWith('.errors.ts')) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]/g)) {
        if (!notCodes.has(m[1])) strays.push(`${relative(root, file)}: ${m[1]}`);
      }
    }
    // Neither an undeclared code, nor a declared one named outside its catalogue (a second declaration in disguise).
    expect(strays.map((s) => ({ at: s, declared: declared.has(s.split(': ')[1]) }))).toEqual([]);
  });
});
