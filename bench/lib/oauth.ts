import { randomBytes } from 'node:crypto';
import type autocannon from 'autocannon';
import { type TimedRequest, withProbe } from './http.js';
import type { Server } from './stack.js';

export interface BenchClient {
  clientId: string;
  clientSecret: string;
  /** `Basic …` (RFC 6749 2.3.1: form-encoded id and secret). */
  authorization: string;
}

export interface BenchUser {
  id: string;
  email: string;
  password: string;
}

export const FORM = 'application/x-www-form-urlencoded';

export function basicAuth(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/** The headers of a form POST authenticated as `client` (HTTP Basic): /oauth/token, /oauth/revoke. */
export function clientHeaders(client: BenchClient): Record<string, string> {
  return { 'content-type': FORM, authorization: client.authorization };
}

/** A confidential client with the password, refresh_token and client_credentials grants, scope read. */
export function createClient(server: Server, name = 'bench'): BenchClient {
  const out = server.cli<{ client: { client_id: string }; client_secret: string }>([
    'client:create', '--name', name, '--type', 'confidential',
    '--grant', 'password', '--grant', 'refresh_token', '--grant', 'client_credentials', '--scope', 'read',
  ]);
  return { clientId: out.client.client_id, clientSecret: out.client_secret, authorization: basicAuth(out.client.client_id, out.client_secret) };
}

/** A user through the CLI; `roles` (e.g. ['admin']) become `--role` flags. */
export function createUser(server: Server, password = 'a long enough passphrase', roles: string[] = []): BenchUser {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const out = server.cli<{ user: { id: string } }>(['user:create', '--email', email, '--password', password, ...roles.flatMap((r) => ['--role', r])]);
  return { id: out.user.id, email, password };
}

/** `count` users through the CLI (createUser's defaults). */
export function createUsers(server: Server, count: number): BenchUser[] {
  return Array.from({ length: count }, () => createUser(server));
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
}

export async function tokenRequest(server: Server, client: BenchClient, params: Record<string, string>): Promise<TokenResponse> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: clientHeaders(client),
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /oauth/token (${params.grant_type}) answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as TokenResponse;
}

/** The password grant's parameters for `user`, scope read. */
export function passwordGrant(user: BenchUser): Record<string, string> {
  return { grant_type: 'password', username: user.email, password: user.password, scope: 'read' };
}

/**
 * `count` password-grant logins (each a new session with a never-used refresh token), `parallel` at
 * a time, within `timeoutMs`. argon2 makes each one ~10-20 ms of server CPU.
 */
export async function login(
  server: Server,
  client: BenchClient,
  user: BenchUser,
  { count, parallel = 4, timeoutMs = 120_000 }: { count: number; parallel?: number; timeoutMs?: number },
): Promise<TokenResponse[]> {
  const deadline = Date.now() + timeoutMs;
  const results: TokenResponse[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      if (Date.now() > deadline) throw new Error(`made only ${results.length} of ${count} logins in ${timeoutMs} ms`);
      next++;
      results.push(await tokenRequest(server, client, passwordGrant(user)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

/** One login of each user (all at once), e.g. for access tokens that a load spreads over its requests. */
export async function loginEach(server: Server, client: BenchClient, users: BenchUser[]): Promise<TokenResponse[]> {
  return (await Promise.all(users.map((u) => login(server, client, u, { count: 1, parallel: 1, timeoutMs: 60_000 })))).flat();
}

/** `Authorization` header values of some tokens' access tokens. */
export const bearers = (tokens: TokenResponse[]) => tokens.map((t) => `Bearer ${t.access_token}`);

/** RFC 7009: revoke `token` (with its type hint), authenticated as `client`. */
export function revokeRequest(client: BenchClient, token: string, hint: 'access_token' | 'refresh_token'): TimedRequest {
  return { method: 'POST', path: '/oauth/revoke', headers: clientHeaders(client), body: `token=${token}&token_type_hint=${hint}` };
}

/** A fresh access token of `user`, revoked at once (RFC 7009): it shows whether a server checks revocation. */
export async function revokedAccessToken(server: Server, client: BenchClient, user: BenchUser): Promise<string> {
  const [spare] = await login(server, client, user, { count: 1, parallel: 1 });
  const r = await withProbe(server.url, (probe) => probe.send(revokeRequest(client, spare.access_token, 'access_token')));
  if (r.status !== 200) throw new Error(`POST /oauth/revoke answered ${r.status}: ${r.body.slice(0, 200)}`);
  return spare.access_token;
}

/** The JSON of a valid `GET /userinfo` (Latchkey) or `GET /me` (the peer): it names the subject. */
export const hasSubject = (body: string) => body.includes('"sub":"');

/** GET `path` for autocannon, each request with the next of `auths` (round-robin; its own counter per call). */
export function roundRobinBearer(path: string, auths: string[]): autocannon.Request {
  let i = 0;
  return { method: 'GET', path, setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: auths[i++ % auths.length] } }) };
}

/** GET `path` for a paced run: the i-th request with the i-th of `auths`, round-robin. */
export const bearerAt = (path: string, auths: string[]) => (i: number): TimedRequest => ({ path, headers: { authorization: auths[i % auths.length] } });
