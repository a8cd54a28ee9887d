#!/usr/bin/env node
// Writes docs/openapi.json: the OpenAPI document built from the code (the controllers' decorators,
// the zod schemas, the error catalogue), without starting the app (a Nest preview app: no database,
// no Redis). Run it as `npm run openapi` (it builds first); `--check` only compares and exits 1 when
// the committed file differs. test/e2e/openapi.e2e-spec.ts makes the same comparison in the suite.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'docs/openapi.json');
const { AppModule } = await import(path.join(root, 'dist/src/app.module.js'));
const { loadConfig } = await import(path.join(root, 'dist/src/config/config.schema.js'));
const { openApiDocumentOf, serializeOpenApi } = await import(path.join(root, 'dist/src/infra/http/openapi.js'));

// A fixed configuration: nothing in the document depends on it (no server URL, no port).
const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
const text = serializeOpenApi(await openApiDocumentOf(AppModule.forRoot({ config, databaseUrl: 'postgres://unused@127.0.0.1:1/unused' })));

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // no committed file yet: it differs
  }
  if (committed !== text) {
    console.error('docs/openapi.json differs from the code: run npm run openapi and commit it');
    process.exit(1);
  }
  console.log('docs/openapi.json matches the code');
} else {
  writeFileSync(target, text);
  console.log(`wrote ${path.relative(root, target)}`);
}
