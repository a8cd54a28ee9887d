import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The shape the lint cannot see: each table is written and read only by its owner's persistence
 * files; the revocation module knows no TypeORM; no port takes TypeORM's types; files stay small.
 */
const root = join(import.meta.dirname, '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

const sources = filesUnder(join(root, 'src')).map((f) => ({ path: relative(root, f), text: readFileSync(f, 'utf8') }));

const isPersistence = (path: string) => /\.repository\.ts$/.test(path) || /\/persistence\//.test(path);

/** Which module owns each table, and so whose persistence files alone may name it in SQL. */
const OWNERS: Record<string, string> = {
  users: 'src/users/',
  sessions: 'src/tokens/',
  refresh_tokens: 'src/tokens/',
  clients: 'src/tokens/',
  signing_keys: 'src/tokens/',
  authorization_codes: 'src/tokens/',
  revocations: 'src/revocation/',
  audit_log: 'src/audit/',
};

const namesTable = (text: string, table: string) => new RegExp(`\\b(FROM|JOIN|UPDATE|INTO|TABLE)\\s+${table}\\b|@Entity\\(\\{\\s*name:\\s*'${table}'`, 'i').test(text);

describe('module structure', () => {
  it.each(Object.entries(OWNERS))('names the %s table only in its owner’s persistence files', (table, owner) => {
    const where = sources.filter((f) => namesTable(f.text, table)).map((f) => f.path);
    expect(where.length).toBeGreaterThan(0);
    expect(where.filter((p) => !(p.startsWith(owner) && isPersistence(p)))).toEqual([]);
  });

  it('keeps TypeORM out of the revocation module and out of every port signature', () => {
    const typeormImports = sources.filter((f) => /from '(typeorm|@nestjs\/typeorm)'/.test(f.text)).map((f) => f.path);
    expect(typeormImports.filter((p) => p.startsWith('src/revocation/') || p.startsWith('src/audit/'))).toEqual([]);
    // TypeORM's EntityManager appears only where the Tx port is built on it.
    expect(sources.filter((f) => /\bEntityManager\b/.test(f.text)).map((f) => f.path)).toEqual(['src/infra/database/typeorm-database.ts']);
  });

  it('documents in docs/architecture.md the same may-call lists the lint reads from the module READMEs', () => {
    const names = (text: string) => [...text.matchAll(/`([a-z/]+)`/g)].map((m) => m[1]);
    const documented = new Map<string, string[]>();
    for (const line of readFileSync(join(root, 'docs/architecture.md'), 'utf8').split('\n')) {
      const m = /^\| `([a-z]+)` \|[^|]*\|([^|]*)\|$/.exec(line);
      if (m) documented.set(m[1], names(m[2]));
    }
    const modules = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    for (const module of modules) {
      const readme = readFileSync(join(root, 'src', module, 'README.md'), 'utf8');
      const list = readme.slice(readme.indexOf('May call:')).split(/\.(?=\s|$)/)[0];
      expect({ module, mayCall: documented.get(module) ?? 'missing' }).toEqual({ module, mayCall: names(list) });
    }
  });

  it('has no source file over 300 lines', () => {
    const long = sources.map((f) => ({ path: f.path, lines: f.text.split('\n').length })).filter((f) => f.lines > 300);
    expect(long).toEqual([]);
  });
});
