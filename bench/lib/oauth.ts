import { randomBytes } from 'node:crypto';
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

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  scope: string;
}

export async function tokenRequest(server: Server, client: BenchClient, params: Record<string, string>): Promise<TokenResponse> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: client.authorization },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /oauth/token (${params.grant_type}) answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as TokenResponse;
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
      results.push(await tokenRequest(server, client, { grant_type: 'password', username: user.email, password: user.password, scope: 'read' }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}
