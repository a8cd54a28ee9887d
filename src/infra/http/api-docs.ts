import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { buildOpenApiDocument, DOCS_JSON_PATH, DOCS_PATH, serializeOpenApi } from './openapi.js';

/**
 * /docs: Swagger UI from the installed swagger-ui-dist (a fixed list of its files: nothing from a
 * CDN, no @fastify/static), and the document at /docs/openapi.json. Public: the routes are added
 * straight on Fastify, so the global guard never sees them (the route-guard test lists them).
 */

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Latchkey API</title>
    <link rel="stylesheet" type="text/css" href="${DOCS_PATH}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${DOCS_PATH}/favicon-32x32.png" sizes="32x32">
    <style>html { box-sizing: border-box; overflow-y: scroll; } body { margin: 0; background: #fafafa; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${DOCS_PATH}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="${DOCS_PATH}/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

const INITIALIZER_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(DOCS_JSON_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Serves the document and Swagger UI, without authentication: /docs (the UI), /docs/openapi.json,
 * and the UI's assets from the installed swagger-ui-dist (a fixed list of files, read once).
 */
export function serveApiDocs(app: NestFastifyApplication): void {
  const json = serializeOpenApi(buildOpenApiDocument(app));
  // swagger-ui-dist is @nestjs/swagger's dependency: resolved from there, as security-headers.ts resolves helmet.
  const swagger = createRequire(import.meta.url).resolve('@nestjs/swagger');
  const dist = path.dirname(createRequire(swagger).resolve('swagger-ui-dist/package.json'));
  const fastify = app.getHttpAdapter().getInstance();
  const cache = 'public, max-age=300';
  fastify.get(DOCS_PATH, (_req, reply) => reply.header('cache-control', cache).type('text/html; charset=utf-8').send(INDEX_HTML));
  fastify.get(DOCS_JSON_PATH, (_req, reply) => reply.header('cache-control', cache).type('application/json; charset=utf-8').send(json));
  fastify.get(`${DOCS_PATH}/swagger-initializer.js`, (_req, reply) => reply.header('cache-control', cache).type('application/javascript; charset=utf-8').send(INITIALIZER_JS));
  for (const [file, type] of Object.entries(ASSETS)) {
    const body = readFileSync(path.join(dist, file));
    fastify.get(`${DOCS_PATH}/${file}`, (_req, reply) => reply.header('cache-control', cache).type(type).send(body));
  }
}
