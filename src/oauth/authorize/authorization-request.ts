import type { ErrorSpec } from '../../infra/errors/error-catalogue.js';
import type { Client } from '../../tokens/clients/client.js';
import { resolveScope } from '../grants/token-request.js';
import { OAuthErrors } from '../oauth.errors.js';

/** A checked authorization request (RFC 6749 section 4.1.1, RFC 7636, OpenID Connect Core 3.1.2.1). */
export interface AuthorizationRequest {
  client: Client;
  redirectUri: string;
  state?: string;
  scope: string;
  /** The S256 code challenge; null only for a confidential client allowed without PKCE. */
  codeChallenge: string | null;
  nonce: string | null;
  prompt: Set<string>;
  /** Seconds: a sign-in older than this must be made again. */
  maxAge: number | null;
}

/** Shown on Latchkey's own error page: the client or the redirect URI cannot be trusted, so nothing is sent anywhere. */
export class AuthorizationPageError extends Error {}

/** Sent back to the client's (checked) redirect URI, RFC 6749 section 4.1.2.1. */
export class AuthorizationRedirectError extends Error {
  constructor(
    readonly spec: ErrorSpec,
    description: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(description);
  }
}

/** RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);

/** The query string of a request URL, as sent (the hosted forms carry it back verbatim). */
export const rawQuery = (url: string) => (url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');

/** A query string as Fastify parses one: a repeated parameter becomes an array. */
export function parseQuery(raw: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** Query parameters, each at most once (RFC 6749 section 3.1); a repeated one is reported by name. */
export function singleValued(query: Record<string, unknown>): { params: Record<string, string>; repeated: string[] } {
  const params: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    if (Array.isArray(value)) repeated.push(name);
    else if (typeof value === 'string' && value !== '') params[name] = value;
  }
  return { params, repeated };
}

/**
 * Checks an authorization request in the order that decides where an error may go: first the
 * client and the redirect URI (an error page, never a redirect), then everything else (an error
 * sent back to that URI).
 */
export async function checkAuthorizationRequest(
  query: Record<string, unknown>,
  findClient: (clientId: string) => Promise<Client | null>,
  o: { pkceRequiredForConfidential: boolean },
): Promise<AuthorizationRequest> {
  const { params, repeated } = singleValued(query);
  if (repeated.includes('client_id') || repeated.includes('redirect_uri')) throw new AuthorizationPageError('The client_id or redirect_uri parameter is repeated.');
  if (!params.client_id) throw new AuthorizationPageError('The request names no client (client_id is missing).');
  const client = await findClient(params.client_id);
  if (!client) throw new AuthorizationPageError('The client is unknown or has been revoked.');
  // Exact, character-for-character match (OAuth 2.1 section 2.3.1; RFC 9700 section 4.1.3).
  if (!params.redirect_uri) throw new AuthorizationPageError('The request has no redirect_uri.');
  if (!client.redirectUris.includes(params.redirect_uri)) throw new AuthorizationPageError('The redirect_uri is not registered for this client.');
  const redirectUri = params.redirect_uri;
  const state = repeated.includes('state') ? undefined : params.state;
  const fail = (spec: ErrorSpec, description: string): never => {
    throw new AuthorizationRedirectError(spec, description, redirectUri, state);
  };

  if (repeated.length) fail(OAuthErrors.INVALID_REQUEST, `the ${repeated[0]} parameter is repeated`);
  if (state !== undefined && state.length > 2048) fail(OAuthErrors.INVALID_REQUEST, 'the state parameter is too long');
  if (params.request) fail(OAuthErrors.REQUEST_NOT_SUPPORTED, 'request objects are not supported');
  if (params.request_uri) fail(OAuthErrors.REQUEST_URI_NOT_SUPPORTED, 'request_uri is not supported');
  if (params.registration) fail(OAuthErrors.REGISTRATION_NOT_SUPPORTED, 'the registration parameter is not supported');
  if (!params.response_type) fail(OAuthErrors.INVALID_REQUEST, 'the response_type parameter is required');
  if (params.response_type !== 'code') fail(OAuthErrors.UNSUPPORTED_RESPONSE_TYPE, 'only response_type=code is supported');
  if (params.response_mode !== undefined && params.response_mode !== 'query') fail(OAuthErrors.INVALID_REQUEST, 'only response_mode=query is supported');
  if (!client.grantTypes.includes('authorization_code')) fail(OAuthErrors.UNAUTHORIZED_CLIENT, 'this client may not use the authorization code flow');

  let scope = '';
  try {
    scope = resolveScope(params.scope, client.scopes);
  } catch (err) {
    fail(OAuthErrors.INVALID_SCOPE, (err as Error).message);
  }

  const method = params.code_challenge_method;
  const challenge = params.code_challenge;
  if (method !== undefined && method !== 'S256') fail(OAuthErrors.INVALID_REQUEST, 'only the S256 code_challenge_method is supported');
  if (challenge === undefined) {
    if (method !== undefined) fail(OAuthErrors.INVALID_REQUEST, 'code_challenge_method without code_challenge');
    if (client.type === 'public' || o.pkceRequiredForConfidential) fail(OAuthErrors.INVALID_REQUEST, 'PKCE is required: send code_challenge and code_challenge_method=S256');
  } else {
    // Without a method, RFC 7636 means `plain`, which Latchkey refuses.
    if (method === undefined) fail(OAuthErrors.INVALID_REQUEST, 'code_challenge_method=S256 is required (plain is not supported)');
    if (!S256_CHALLENGE.test(challenge)) fail(OAuthErrors.INVALID_REQUEST, 'the code_challenge is not a base64url SHA-256 value');
  }

  const nonce = params.nonce ?? null;
  if (nonce !== null && nonce.length > 512) fail(OAuthErrors.INVALID_REQUEST, 'the nonce is too long');
  const prompt = new Set((params.prompt ?? '').split(' ').filter(Boolean));
  for (const p of prompt) if (!PROMPTS.has(p)) fail(OAuthErrors.INVALID_REQUEST, `unknown prompt value "${p.slice(0, 32)}"`);
  if (prompt.has('none') && prompt.size > 1) fail(OAuthErrors.INVALID_REQUEST, 'prompt=none cannot be combined with other values');
  let maxAge: number | null = null;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) fail(OAuthErrors.INVALID_REQUEST, 'max_age must be a number of seconds');
    maxAge = Number(params.max_age);
  }
  return { client, redirectUri, state, scope, codeChallenge: challenge ?? null, nonce, prompt, maxAge };
}

/** The redirect back to the client: `code` or `error`, `state` echoed, and `iss` (RFC 9207). */
export function redirectBack(redirectUri: string, issuer: string, values: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(values)) if (v !== undefined) url.searchParams.append(k, v);
  url.searchParams.append('iss', issuer);
  return url.toString();
}
