import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../../src/app.module.js';
import { loadConfig } from '../../src/config/config.schema.js';
import { declaredErrors } from '../../src/infra/errors/error-catalogue.js';
import { openApiDocumentOf, serializeOpenApi } from '../../src/infra/http/openapi.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The OpenAPI document: the committed docs/openapi.json is what the code builds (regenerate it with
 * `npm run openapi`), the running app serves that same document at /docs/openapi.json, and /docs
 * serves Swagger UI from Latchkey itself (no CDN). The linter runs in .ci/run.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const committedText = readFileSync(path.join(root, 'docs/openapi.json'), 'utf8');
const committed = JSON.parse(committedText) as OpenAPIObject;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Every operation of a document, as `METHOD /path/:param`. */
const operationsOf = (doc: OpenAPIObject) =>
  Object.entries(doc.paths)
    .flatMap(([p, item]) => METHODS.filter((m) => (item as Record<string, unknown>)[m]).map((m) => `${m.toUpperCase()} ${p.replace(/\{([^}]+)\}/g, ':$1')}`))
    .sort();

describe('the OpenAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('is committed as docs/openapi.json, exactly as the code builds it (else run npm run openapi)', async () => {
    const config = loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
    const built = serializeOpenApi(await openApiDocumentOf(AppModule.forRoot({ config, databaseUrl: 'postgres://unused@127.0.0.1:1/unused' })));
    // The parsed comparison shows where they differ; the text comparison catches formatting too.
    expect(JSON.parse(built)).toEqual(committed);
    expect(built).toBe(committedText);
  });

  it('is served at /docs/openapi.json without a token, equal to the committed file', async () => {
    const res = await fetch(`${t.url}/docs/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.text()).toBe(committedText);
  });

  it('documents every route of every controller, each with a summary, a success and an error response', () => {
    const discovery = new DiscoveryService(t.app.get(ModulesContainer));
    const scanner = new MetadataScanner();
    const routes: string[] = [];
    for (const wrapper of discovery.getControllers()) {
      if (!wrapper.metatype || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, object>;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const method = Reflect.getMetadata(METHOD_METADATA, prototype[name]) as RequestMethod | undefined;
        const sub = Reflect.getMetadata(PATH_METADATA, prototype[name]) as string | undefined;
        if (method === undefined || sub === undefined) continue;
        const base = Reflect.getMetadata(PATH_METADATA, wrapper.metatype) as string;
        routes.push(`${RequestMethod[method]} /${[base, sub].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`);
      }
    }
    expect(operationsOf(committed)).toEqual(routes.sort());
    const gaps: string[] = [];
    for (const [p, item] of Object.entries(committed.paths)) {
      for (const m of METHODS) {
        const op = (item as Record<string, { summary?: string; responses: Record<string, unknown>; security?: unknown[] }>)[m];
        if (!op) continue;
        const statuses = Object.keys(op.responses);
        if (!op.summary) gaps.push(`${m} ${p}: no summary`);
        // A console form's success is a 303 to the page that shows its result (Post/Redirect/Get).
        if (!statuses.some((s) => s.startsWith('2') || s === '303')) gaps.push(`${m} ${p}: no 2xx (or 303) response`);
        if (!statuses.some((s) => s.startsWith('4'))) gaps.push(`${m} ${p}: no 4xx response`);
        if (!op.security) gaps.push(`${m} ${p}: no security requirement`);
      }
    }
    expect(gaps).toEqual([]);
  });

  it('names only codes of the catalogue, and answers API errors as problem+json, OAuth errors as RFC 6749 JSON and console and hosted-page errors as pages', () => {
    const problem = committed.components?.schemas?.Problem as { properties: { code: { enum: string[] } } };
    expect(problem.properties.code.enum).toEqual(
      declaredErrors()
        .map((s) => s.code)
        .sort(),
    );
    const wrong: string[] = [];
    for (const [p, item] of Object.entries(committed.paths)) {
      for (const m of METHODS) {
        const op = (item as Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>)[m];
        if (!op) continue;
        const console = p === '/admin' || (p.startsWith('/admin/') && !p.startsWith('/admin/api/'));
        // The hosted sign-in and logout pages are pages too.
        const hosted = ['/oauth/authorize', '/oauth/logout', '/oauth/assets/sign-in.css'].includes(p);
        const expected = console || hosted ? 'text/html' : p.startsWith('/oauth/') ? 'application/json' : 'application/problem+json';
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && Object.keys(response.content ?? {}).join() !== expected) wrong.push(`${m} ${p} ${status}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    const token = committed.paths['/oauth/token'].post as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(token.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
  });

  it('has no server URL that depends on where it runs', () => {
    expect(committed.servers).toEqual([{ url: '/', description: 'This Latchkey' }]);
    expect(committedText).not.toMatch(/127\.0\.0\.1|localhost/);
  });

  it('serves Swagger UI at /docs from Latchkey itself: every asset is local and answers', async () => {
    const res = await fetch(`${t.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    expect(assets.filter((a) => !a.startsWith('/docs/'))).toEqual([]);
    for (const asset of assets) {
      const r = await fetch(`${t.url}${asset}`);
      const body = await r.text();
      expect(`${asset} ${r.status}`).toBe(`${asset} 200`);
      if (asset.endsWith('.js')) expect(r.headers.get('content-type')).toMatch(/^application\/javascript/);
      if (asset.endsWith('.css')) expect(r.headers.get('content-type')).toMatch(/^text\/css/);
      if (asset.endsWith('swagger-initializer.js')) {
        expect(body).toContain('"/docs/openapi.json"');
        expect(body).not.toMatch(/https?:\/\//);
      }
    }
    expect(html).not.toMatch(/https?:\/\//);
  });
});
