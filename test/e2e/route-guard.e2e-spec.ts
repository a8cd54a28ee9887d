import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { CREDENTIAL } from '../../src/infra/http/credential.decorator.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * The global access-token guard covers every route: the @Public() routes are exactly the allow-list
 * below, and every other route answers 401 to a request without a token. A new route that is neither
 * guarded nor on the list fails here.
 */

/**
 * The OpenAPI document and its UI (src/infra/http/openapi.ts): public, and served straight on
 * Fastify, so no Nest controller declares them.
 */
const DOCS_ROUTES = [
  'GET /docs',
  'GET /docs/openapi.json',
  'GET /docs/swagger-initializer.js',
  'GET /docs/swagger-ui.css',
  'GET /docs/swagger-ui-bundle.js',
  'GET /docs/swagger-ui-standalone-preset.js',
  'GET /docs/favicon-32x32.png',
];

/** Every route that may be called without an access token. Add to it only on purpose. */
const PUBLIC_ROUTES = [
  'GET /health/live',
  'GET /health/ready',
  'POST /oauth/token',
  // RFC 7009 and RFC 7662 authenticate the client, not a bearer token.
  'POST /oauth/revoke',
  'POST /oauth/introspect',
  'GET /.well-known/openid-configuration',
  'GET /.well-known/oauth-authorization-server',
  'GET /.well-known/jwks.json',
  // The console's sign-in steps (each checks its own session stage) and its stylesheet and script.
  'GET /admin',
  'GET /admin/login',
  'POST /admin/login',
  'GET /admin/login/code',
  'POST /admin/login/code',
  'GET /admin/enrol',
  'POST /admin/enrol',
  'POST /admin/logout',
  'GET /admin/assets/console.css',
  'GET /admin/assets/console.js',
  // The hosted sign-in page (the browser has no token yet: the authorization request and the form's
  // CSRF token are checked), RP-initiated logout (an id_token_hint or the user's confirmation), and
  // the page's stylesheet.
  'GET /oauth/authorize',
  'POST /oauth/authorize',
  'GET /oauth/logout',
  'POST /oauth/logout',
  'GET /oauth/assets/sign-in.css',
  ...DOCS_ROUTES,
].sort();

interface Route {
  method: string;
  path: string;
  isPublic: boolean;
  /** The credential the guard requires: a bearer token, or (the console) a session cookie. */
  credential: string;
  handler: string;
}

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

function joinPath(...parts: string[]): string {
  const joined = parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');
  return `/${joined}`;
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? v : [v ?? '']).map(String);

/** Every route of every controller Nest knows, from the decorators' metadata. */
function nestRoutes(t: TestApp): Route[] {
  const discovery = new DiscoveryService(t.app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const routes: Route[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
    if (!controller || !wrapper.instance) continue;
    const prototype = Object.getPrototypeOf(wrapper.instance) as object;
    const classCredential = Reflect.getMetadata(CREDENTIAL, controller) as string | undefined;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = (prototype as Record<string, unknown>)[name] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (paths === undefined || method === undefined) continue;
      const handlerCredential = Reflect.getMetadata(CREDENTIAL, handler) as string | undefined;
      for (const base of asList(Reflect.getMetadata(PATH_METADATA, controller))) {
        for (const path of asList(paths)) {
          routes.push({
            method: RequestMethod[method],
            path: joinPath(base, path),
            // As the guard reads it: getAllAndOverride, the handler before the class.
            isPublic: (handlerCredential ?? classCredential) === 'none',
            credential: handlerCredential ?? classCredential ?? 'bearer',
            handler: `${controller.name}.${name}`,
          });
        }
      }
    }
  }
  return routes.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Every route Fastify serves, from its printed route tree: catches a route added straight on the
 * Fastify instance, which Nest's guard would never see. HEAD routes Fastify adds for GET are left out.
 */
function fastifyRoutes(t: TestApp): string[] {
  const tree = t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    if (!line.trim()) continue;
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) throw new Error(`cannot read this line of fastify.printRoutes(): ${JSON.stringify(line)}`);
    const depth = m[1].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    const methods = m[3]?.split(/,\s*/) ?? [];
    const path = stack.join('');
    for (const method of methods) if (!(method === 'HEAD' && methods.includes('GET'))) routes.push(`${method} ${path}`);
  }
  return routes.sort();
}

/** A stand-in for each path parameter, so that the route matches. */
const fillParams = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => `dummy-${name}`).replace(/\*$/, 'dummy');

describe('every route is guarded or on the public allow-list', () => {
  let t: TestApp;
  let routes: Route[];

  beforeAll(async () => {
    t = await startTestApp();
    routes = nestRoutes(t);
  });
  afterAll(() => t?.close());

  it('finds the routes (the discovery itself works)', () => {
    expect(routes.length).toBeGreaterThan(PUBLIC_ROUTES.length);
    expect(routes.map(key)).toEqual(expect.arrayContaining(['GET /userinfo', 'GET /health/live', 'POST /oauth/token']));
    expect(new Set(routes.map(key)).size).toBe(routes.length);
  });

  it('serves exactly the routes the controllers declare, and the docs (nothing else registered around Nest)', () => {
    expect(fastifyRoutes(t)).toEqual([...routes.map(key), ...DOCS_ROUTES].sort());
  });

  it('has exactly the allow-listed @Public() routes', () => {
    expect([...routes.filter((r) => r.isPublic).map(key), ...DOCS_ROUTES].sort()).toEqual(PUBLIC_ROUTES);
  });

  it('sends every console route called without a session (a bearer token is no console session) to the sign-in page', async () => {
    const console = routes.filter((r) => r.credential === 'session');
    expect(console.length).toBeGreaterThan(10);
    const results: string[] = [];
    for (const r of console) {
      for (const headers of [{}, { authorization: 'Bearer not.a.token' }, { cookie: 'lk_console=planted-id' }] as Record<string, string>[]) {
        const res = await fetch(`${t.url}${fillParams(r.path)}`, { method: r.method, headers, redirect: 'manual' });
        await res.arrayBuffer();
        results.push(`${key(r)} -> ${res.status} ${res.headers.get('location')}`);
      }
    }
    expect(results).toEqual(console.flatMap((r) => Array(3).fill(`${key(r)} -> 303 /admin/login`)));
  });

  it('answers 401 with a Bearer challenge to every other route called without a token', async () => {
    const guarded = routes.filter((r) => !r.isPublic && r.credential === 'bearer');
    expect(guarded.length).toBeGreaterThan(0);
    expect(routes.every((r) => r.isPublic || r.credential === 'bearer' || r.credential === 'session')).toBe(true);
    const results: string[] = [];
    for (const r of guarded) {
      const res = await fetch(`${t.url}${fillParams(r.path)}`, { method: r.method });
      const challenge = res.headers.get('www-authenticate') ?? '';
      const body = (await res.text()) || '{}';
      const code = (JSON.parse(body) as { code?: string }).code;
      results.push(`${key(r)} -> ${res.status} ${code} ${/^Bearer realm="[^"]*"$/.test(challenge) ? 'bearer-challenge' : `challenge=${JSON.stringify(challenge)}`}`);
    }
    expect(results).toEqual(guarded.map((r) => `${key(r)} -> 401 TOKEN_REQUIRED bearer-challenge`));
  });

  it('also answers 401 to every guarded route called with a garbage token', async () => {
    const guarded = routes.filter((r) => !r.isPublic && r.credential === 'bearer');
    const results: string[] = [];
    for (const r of guarded) {
      const res = await fetch(`${t.url}${fillParams(r.path)}`, { method: r.method, headers: { authorization: 'Bearer not.a.token' } });
      const challenge = res.headers.get('www-authenticate') ?? '';
      results.push(`${key(r)} -> ${res.status} ${challenge.includes('error="invalid_token"') ? 'invalid_token' : `challenge=${JSON.stringify(challenge)}`}`);
    }
    expect(results).toEqual(guarded.map((r) => `${key(r)} -> 401 invalid_token`));
  });

  it('answers the public routes without a token', async () => {
    const results: string[] = [];
    const docs = DOCS_ROUTES.map((k) => ({ method: k.split(' ')[0], path: k.split(' ')[1] }));
    for (const r of [...routes.filter((x) => x.isPublic), ...docs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))) {
      const res = await fetch(`${t.url}${fillParams(r.path)}`, { method: r.method });
      await res.arrayBuffer();
      // POST /oauth/token without a body is an OAuth error (400), not an authentication challenge.
      results.push(`${key(r)} -> ${res.status === 401 ? 401 : 'not 401'}`);
    }
    expect(results).toEqual(PUBLIC_ROUTES.map((k) => `${k} -> not 401`));
  });
});
