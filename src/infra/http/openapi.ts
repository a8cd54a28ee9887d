import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applyDecorators, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ApiBody, ApiConsumes, ApiExtension, ApiQuery, DocumentBuilder, type OpenAPIObject, type SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { declaredErrors, type ErrorSpec } from '../errors/error-catalogue.js';
import { HttpErrors } from '../errors/http.errors.js';

/**
 * The OpenAPI document, from the code: each controller's decorators (the request bodies and queries
 * from the zod schemas that validate them, the errors from the error catalogue), put together here,
 * served at /docs and /docs/openapi.json (api-docs.ts). `npm run openapi` writes the same document to docs/openapi.json.
 */

export const DOCS_PATH = '/docs';
export const DOCS_JSON_PATH = '/docs/openapi.json';

/** Security scheme names the controllers refer to. */
export const BEARER = 'bearer';
export const CLIENT_BASIC = 'client_secret_basic';

const ERRORS_DOC = 'docs/errors.md';

/** A zod schema as the JSON Schema of what a caller sends (defaults optional, OpenAPI 3.0 dialect). */
export function zodJsonSchema(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as SchemaObject;
}

/** The JSON request body, from the zod schema that validates it. */
export const ZodBody = (schema: z.ZodType, description?: string) => ApiBody({ required: true, description, schema: zodJsonSchema(schema) });

/** One query parameter per property of the zod object that validates the query. */
export function ZodQuery(schema: z.ZodObject) {
  const json = zodJsonSchema(schema);
  const required = new Set(json.required ?? []);
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) => {
      const { description, ...rest } = property as SchemaObject;
      return ApiQuery({ name, required: required.has(name), description, schema: rest });
    }),
  );
}

/** The form body of an OAuth endpoint (application/x-www-form-urlencoded), one property per parameter. */
export const FormBody = (schema: SchemaObject, description?: string) => applyDecorators(ApiConsumes('application/x-www-form-urlencoded'), ApiBody({ required: true, description, schema }));

const ERRORS_EXTENSION = 'x-latchkey-errors';

interface ErrorsExtension {
  surface: 'api' | 'oauth' | 'html';
  codes: string[];
}

/** A module's codes that carry an RFC 6749 value, resolved when the document is built (a module the controller may not import). */
interface ModuleOAuthErrors {
  readonly oauthErrorsOf: string;
}

/** What the decorators take: the catalogue's entry, or every code with an OAuth value of a module. */
type ErrorRef = ErrorSpec | ModuleOAuthErrors;

/** Every code of `module` that the OAuth endpoints answer with its own RFC 6749 value (e.g. auth's sign-in conditions behind the PasswordSignIn port). */
export const oauthErrorsOf = (module: string): ModuleOAuthErrors => ({ oauthErrorsOf: module });

const codeOf = (ref: ErrorRef) => ('code' in ref ? ref.code : `module:${ref.oauthErrorsOf}`);

/** The codes an extension names, a module reference expanded. */
const resolveCodes = (codes: string[]): string[] =>
  codes.flatMap((c) =>
    c.startsWith('module:')
      ? declaredErrors()
          .filter((s) => s.module === c.slice('module:'.length) && s.oauth)
          .map((s) => s.code)
      : [c],
  );

/**
 * The API errors a route answers: RFC 9457 problem+json, one response per status naming the codes.
 * The responses are made when the document is built, from the catalogue (docs/errors.md).
 */
export const ApiErrors = (...refs: ErrorRef[]) => ApiExtension(ERRORS_EXTENSION, { surface: 'api', codes: refs.map(codeOf) } satisfies ErrorsExtension);

/** The errors a console page or form answers: HTML pages (the console renders its errors, never JSON). */
export const ApiHtmlErrors = (...refs: ErrorRef[]) => ApiExtension(ERRORS_EXTENSION, { surface: 'html', codes: refs.map(codeOf) } satisfies ErrorsExtension);

/** The console's session cookie, as a security scheme. */
export const CONSOLE_SESSION = 'console_session';

/** The OAuth errors an endpoint answers: RFC 6749 section 5.2 JSON, one response per status. */
export const ApiOAuthErrors = (...refs: ErrorRef[]) => ApiExtension(ERRORS_EXTENSION, { surface: 'oauth', codes: refs.map(codeOf) } satisfies ErrorsExtension);

/** What the OAuth surface answers for a condition (as oauth-error.filter.ts maps it): the status and the `error` value. */
function oauthAnswer(spec: ErrorSpec): { status: number; error: string } {
  if (spec.oauth) return { status: spec.status, error: spec.oauth };
  if (spec.status === 503) return { status: 503, error: 'temporarily_unavailable' };
  if (spec.status >= 500) return { status: 500, error: 'server_error' };
  if (spec.status === 404 || spec.status === 405) return { status: spec.status, error: 'invalid_request' };
  return { status: 400, error: 'invalid_request' };
}

/** Headers a condition carries, as OpenAPI response headers. */
function headersOf(specs: ErrorSpec[]) {
  const names = [...new Set(specs.flatMap((s) => Object.keys(s.headers ?? {})))].sort();
  if (names.length === 0) return undefined;
  const described: Record<string, string> = {
    'retry-after': 'Seconds to wait before retrying.',
    'www-authenticate': 'The authentication challenge (RFC 6750 `Bearer`, or `Basic` for client authentication).',
  };
  return Object.fromEntries(names.map((n) => [n, { description: described[n] ?? n, schema: { type: 'string' } }]));
}

/** The error responses of one operation, from its extension. */
function errorResponses({ surface, codes }: ErrorsExtension, operation: string): Record<string, object> {
  const catalogue = new Map(declaredErrors().map((s) => [s.code, s]));
  const groups = new Map<number, ErrorSpec[]>();
  for (const code of new Set(resolveCodes(codes))) {
    const spec = catalogue.get(code);
    if (!spec) throw new Error(`OpenAPI: ${operation} names the error code ${code}, which no catalogue declares`);
    const status = surface === 'oauth' ? oauthAnswer(spec).status : spec.status;
    groups.set(status, [...(groups.get(status) ?? []), spec]);
  }
  const responses: Record<string, object> = {};
  for (const [status, specs] of [...groups].sort(([a], [b]) => a - b)) {
    const description =
      surface === 'api'
        ? `Problem details (RFC 9457) with \`code\` ${specs.map((s) => `\`${s.code}\` (${s.title})`).join(', ')}; see ${ERRORS_DOC}.`
        : surface === 'html'
          ? `An HTML page saying what went wrong: ${specs.map((s) => `\`${s.code}\` (${s.title})`).join(', ')}; see ${ERRORS_DOC}.`
          : `RFC 6749 section 5.2 error ${[...new Set(specs.map((s) => `\`${oauthAnswer(s).error}\``))].join(', ')}: ${specs.map((s) => `${s.code} (${s.title})`).join(', ')}; see ${ERRORS_DOC}.`;
    const headers = headersOf(specs);
    responses[String(status)] = {
      description,
      ...(headers ? { headers } : {}),
      content:
        surface === 'api'
          ? { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } }
          : surface === 'html'
            ? { 'text/html': { schema: { type: 'string' } } }
            : { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
    };
  }
  return responses;
}

/** Replaces each operation's error extension with its responses. */
function expandErrors(document: OpenAPIObject): void {
  for (const [route, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      const ext = operation?.[ERRORS_EXTENSION] as ErrorsExtension | undefined;
      if (!ext) continue;
      delete operation[ERRORS_EXTENSION];
      operation.responses = sortKeys({ ...(operation.responses as object), ...errorResponses(ext, `${method.toUpperCase()} ${route}`) });
    }
  }
}

/** What every route may answer besides its own errors: a malformed request or a NUL anywhere in it (the global input guard), a failure. */
export const COMMON_API_ERRORS = [HttpErrors.BAD_REQUEST, HttpErrors.VALIDATION_FAILED, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE];

/** A schema for a date-time string. */
export const DATE_TIME: SchemaObject = { type: 'string', format: 'date-time' };

/** The Problem and OAuthError schemas every error response refers to. */
function errorSchemas(): Record<string, SchemaObject> {
  const codes = declaredErrors()
    .map((s) => s.code)
    .sort();
  const oauthValues = [
    ...new Set([
      ...declaredErrors()
        .map((s) => s.oauth)
        .filter((v): v is NonNullable<typeof v> => v !== undefined),
      'invalid_request',
      'server_error',
      'temporarily_unavailable',
    ]),
  ].sort();
  return {
    Problem: {
      type: 'object',
      description: `RFC 9457 problem details, the error format of every API. \`code\` is stable; every code, its status and meaning are in ${ERRORS_DOC}.`,
      required: ['type', 'title', 'status', 'detail', 'code'],
      properties: {
        type: { type: 'string', description: '`urn:latchkey:error:` and the code in lower case.', example: 'urn:latchkey:error:not_found' },
        title: { type: 'string', description: "The code's title." },
        status: { type: 'integer', description: 'The HTTP status.' },
        detail: { type: 'string', description: 'What went wrong, for a person.' },
        code: { type: 'string', enum: codes, description: `The stable error code (${ERRORS_DOC}).` },
        instance: { type: 'string', description: 'The request path.' },
        request_id: { type: 'string', description: 'The request id (also the `X-Request-Id` header and in the logs).' },
        errors: {
          type: 'array',
          description: `For \`${HttpErrors.VALIDATION_FAILED.code}\`: the fields that failed.`,
          items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
        },
        details: { type: 'object', additionalProperties: true, description: 'Health checks: which dependency failed.' },
      },
    },
    OAuthError: {
      type: 'object',
      description: `RFC 6749 section 5.2 error response of the OAuth endpoints (never cached). The codes behind each value are in ${ERRORS_DOC}.`,
      required: ['error', 'error_description'],
      properties: {
        error: { type: 'string', enum: oauthValues },
        error_description: { type: 'string' },
      },
    },
  };
}

/** The version in Latchkey's package.json (found upwards from this file: src/ or dist/src/). */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'latchkey' && pkg.version) return pkg.version;
  }
  throw new Error('cannot find the package.json of latchkey');
}

/** Object keys in order, recursively where the order carries no meaning (paths, components, tags). */
function sortKeys<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
}

/** Builds the document from the app's controllers. Deterministic: a relative server URL, sorted paths and components. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Latchkey')
    .setDescription(
      [
        'An identity service where revoked access stops at once.',
        '',
        'The OAuth endpoints (`/oauth/*`) take `application/x-www-form-urlencoded` parameters (RFC 6749, RFC 7009, RFC 7662), authenticate the client (HTTP Basic or `client_secret_post`) and answer errors as RFC 6749 section 5.2 JSON. Every other API takes an access token (`Authorization: Bearer`) and answers errors as RFC 9457 `application/problem+json`.',
        '',
        `Every error code, its status and its meaning: ${ERRORS_DOC}. Every response carries \`X-Request-Id\`.`,
      ].join('\n'),
    )
    .setVersion(packageVersion())
    // Relative: the document describes the Latchkey that serves it, whatever its host and port.
    .addServer('/', 'This Latchkey')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token (ES256 JWT, `typ: at+jwt`) from `POST /oauth/token`.' }, BEARER)
    .addBasicAuth({ type: 'http', scheme: 'basic', description: 'Client authentication (RFC 6749 section 2.3.1): the form-encoded client_id and client_secret. Alternatively `client_secret_post`: both as form parameters. A public client sends only `client_id`.' }, CLIENT_BASIC)
    .addTag('oauth', 'Tokens (RFC 6749), revocation (RFC 7009), introspection (RFC 7662)')
    .addTag('discovery', 'Authorization server metadata (RFC 8414) and the JWK Set')
    .addTag('me', 'The signed-in user: profile, sessions, password, logout')
    .addTag('admin', 'The admin API for staff (roles `security`, `admin`)')
    .addCookieAuth('lk_console', { type: 'apiKey', in: 'cookie', name: 'lk_console', description: 'The console session (`__Host-lk_console` under https): set by the staff sign-in at /admin/login (password, then TOTP). Every form also carries the session\'s CSRF token (`_csrf`).' }, CONSOLE_SESSION)
    .addTag('console', 'The admin console: HTML pages and forms for staff under /admin (not a JSON API)')
    .addTag('health', 'Liveness and readiness')
    .build();
  const document = SwaggerModule.createDocument(app, config, { operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}` });
  expandErrors(document);
  document.paths = sortKeys(document.paths);
  document.components = sortKeys({ ...document.components, schemas: sortKeys({ ...document.components?.schemas, ...errorSchemas() }) });
  if (document.components.securitySchemes) document.components.securitySchemes = sortKeys(document.components.securitySchemes);
  return document;
}

/**
 * The document of an app module, without starting it: a preview app (Nest instantiates no provider,
 * so nothing connects to a database or Redis). `npm run openapi` and the test that compares with
 * docs/openapi.json use it.
 */
export async function openApiDocumentOf(module: DynamicModule): Promise<OpenAPIObject> {
  const app = await NestFactory.create(module, new FastifyAdapter(), { preview: true, logger: false, abortOnError: false });
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

/** The document as committed in docs/openapi.json. */
export const serializeOpenApi = (document: OpenAPIObject) => `${JSON.stringify(document, null, 2)}\n`;
