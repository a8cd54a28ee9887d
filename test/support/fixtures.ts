import type { INestApplication } from '@nestjs/common';
import { ClientsService } from '../../src/tokens/clients/clients.service.js';
import type { User } from '../../src/users/user.js';
import { UsersService } from '../../src/users/users.service.js';
import type { TestApp } from './test-app.js';

export const PASSWORD = 'a long enough passphrase';

let n = 0;
/** A unique email for this test file. */
export const email = (tag = 'user') => `${tag}-${process.pid}-${++n}@example.com`;

export async function createUser(app: INestApplication, options: { email?: string; password?: string; roles?: string[] } = {}): Promise<User & { password: string }> {
  const password = options.password ?? PASSWORD;
  const user = await app.get(UsersService).createUser({ email: options.email ?? email(), password, roles: options.roles });
  return { ...user, password };
}

export interface TestClient {
  clientId: string;
  clientSecret?: string;
}

export async function createClient(
  app: INestApplication,
  options: {
    type?: 'confidential' | 'public';
    grants?: string[];
    scopes?: string[];
    name?: string;
    redirectUris?: string[];
    postLogoutRedirectUris?: string[];
    backchannelLogoutUri?: string;
    allowedOrigins?: string[];
  } = {},
): Promise<TestClient> {
  const { client, clientSecret } = await app.get(ClientsService).create({
    name: options.name ?? 'test app',
    type: options.type ?? 'confidential',
    grantTypes: options.grants ?? ['password', 'refresh_token', 'client_credentials'],
    scopes: options.scopes ?? ['read', 'write'],
    redirectUris: options.redirectUris,
    postLogoutRedirectUris: options.postLogoutRedirectUris,
    backchannelLogoutUri: options.backchannelLogoutUri,
    allowedOrigins: options.allowedOrigins,
  });
  return { clientId: client.clientId, clientSecret };
}

export const basic = (c: TestClient) => `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret ?? '')}`).toString('base64')}`;

/** POST /oauth/token, form-encoded, with HTTP Basic client authentication when the client has a secret. */
export async function tokenRequest(t: TestApp, client: TestClient | null, params: Record<string, string>, init: { headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...init.headers };
  const body = new URLSearchParams(params);
  if (client?.clientSecret) headers.authorization = basic(client);
  else if (client) body.set('client_id', client.clientId);
  const res = await fetch(`${t.url}/oauth/token`, { method: 'POST', headers, body: body.toString() });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** Logs a user in with the password grant; fails the test if it does not succeed. */
export async function login(t: TestApp, client: TestClient, user: { email: string; password: string }, scope?: string) {
  const r = await tokenRequest(t, client, { grant_type: 'password', username: user.email, password: user.password, ...(scope ? { scope } : {}) });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { access_token: string; refresh_token: string; expires_in: number; scope: string; token_type: string };
}

/** GET with a bearer token. */
export async function authGet(t: TestApp, path: string, token: string) {
  const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
