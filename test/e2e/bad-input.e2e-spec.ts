import { DataSource } from 'typeorm';
import { basic, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Bad input never reaches PostgreSQL: every class of it, sent to every route, is answered 4xx in the
 * route's documented format (problem+json, or RFC 6749 JSON on the OAuth endpoints), and nothing in
 * the database changes.
 */
const NUL = '\u0000';
const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const NOT_UUIDS = ['-'.repeat(36), 'g'.repeat(8) + '-0000-4000-8000-000000000000', '00000000-0000-0000-0000-00000000000', `${'0'.repeat(35)}${NUL}`];
const BAD_USER_CURSORS = [
  'not base64 at all!',
  b64json('just a string'),
  b64json([1, 2]),
  b64json(['2026-02-30T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
  b64json(['2026-13-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
  b64json(['2026-01-01T00:00:00.000Z', 'not-a-uuid']),
  b64json(['2026-01-01T00:00:00.000Z', '-'.repeat(36)]),
  b64json({ at: '2026-01-01T00:00:00.000Z' }),
  b64json(['2026-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000', 'extra']),
];

interface Case {
  name: string;
  method: string;
  path: string;
  /** JSON body, or form parameters for the OAuth endpoints. */
  json?: unknown;
  /** A JSON body sent as it is (too deep for JSON.stringify). */
  rawJson?: string;
  form?: Record<string, string>;
  auth: 'none' | 'user' | 'admin' | 'basic';
  oauth?: boolean;
}

describe('bad input at every route', () => {
  let t: TestApp;
  let db: DataSource;
  let client: TestClient;
  let userToken: string;
  let adminToken: string;
  let userId: string;

  beforeAll(async () => {
    // Every answer here must be a 4xx: give Redis room on a busy machine, so that a slow check
    // (failing closed with 503, as it must) is not mistaken for bad input reaching a server error.
    t = await startTestApp({ env: { REDIS_COMMAND_TIMEOUT_MS: '2000' } });
    db = t.app.get(DataSource);
    client = await createClient(t.app);
    const user = await createUser(t.app);
    userId = user.id;
    userToken = (await login(t, client, user)).access_token;
    adminToken = (await login(t, client, await createUser(t.app, { roles: ['admin'] }))).access_token;
  });
  afterAll(() => t?.close());

  /** Everything a request could have written, in one row. */
  async function fingerprint(): Promise<string> {
    const [row] = await db.query(`SELECT
      (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') || ':' || count(*) FILTER (WHERE status <> 'active') FROM users) AS users,
      (SELECT count(*) || ':' || count(revoked_at) || ':' || coalesce(max(last_seen_at)::text, '') FROM sessions) AS sessions,
      (SELECT count(*) || ':' || count(used_at) FROM refresh_tokens) AS refresh_tokens,
      (SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') FROM clients) AS clients,
      (SELECT count(*) || ':' || count(revoked_at) || ':' || count(retired_at) FROM signing_keys) AS signing_keys,
      (SELECT count(*) FROM revocations) AS revocations,
      (SELECT count(*) FROM audit_log) AS audit_log`);
    return JSON.stringify(row);
  }

  function cases(): Case[] {
    const reason = 'bad input probe';
    const nulText = `text with a ${NUL} inside`;
    const list: Case[] = [];
    // NUL in a body string, on every route that takes a body.
    for (const [method, path, json] of [
      ['POST', '/admin/api/users', { reason, email: `x${NUL}@example.com`, password: 'a long enough passphrase' }],
      ['POST', '/admin/api/users', { reason: nulText, email: 'fresh-user@example.com', password: 'a long enough passphrase' }],
      ['POST', `/admin/api/users/${userId}/lock`, { reason: nulText }],
      ['POST', `/admin/api/users/${userId}/unlock`, { reason: nulText }],
      ['POST', `/admin/api/users/${userId}/revoke-sessions`, { reason: nulText }],
      ['PUT', `/admin/api/users/${userId}/roles`, { reason: nulText, roles: [] }],
      ['PUT', `/admin/api/users/${userId}/roles`, { reason, roles: [`ro${NUL}le`] }],
      ['POST', `/admin/api/clients/${client.clientId}/revoke`, { reason: nulText }],
      ['POST', '/admin/api/keys/rotate', { reason: nulText }],
      ['POST', '/admin/api/revoke-all', { reason: nulText }],
      ['POST', '/admin/api/users', { [`rea${NUL}son`]: reason, email: 'key-with-nul@example.com', password: 'a long enough passphrase' }],
    ] as const) list.push({ name: `NUL in the JSON body of ${method} ${path.replace(userId, ':id').replace(client.clientId, ':client')}`, method, path, json, auth: 'admin' });
    list.push({ name: 'NUL in the current password of POST /me/password', method: 'POST', path: '/me/password', json: { current_password: nulText, new_password: 'another long passphrase' }, auth: 'user' });
    list.push({ name: 'NUL in the new password of POST /me/password', method: 'POST', path: '/me/password', json: { current_password: 'a long enough passphrase', new_password: nulText }, auth: 'user' });
    // Nested far deeper than any real body (still within the 64 KB limit), with and without a NUL at the bottom.
    const deep = (n: number, leaf: string) => `${'['.repeat(n)}${JSON.stringify(leaf)}${']'.repeat(n)}`;
    for (const [method, path, auth] of [['POST', '/me/password', 'none'], ['POST', '/admin/api/users', 'admin'], ['POST', '/auth/logout', 'user'], ['POST', `/admin/api/users/${userId}/lock`, 'admin']] as const) {
      // (Logout takes no body: a deep one without a NUL is no bad input, so that case goes without a token.)
      list.push({ name: `a body nested 20,000 deep at ${method} ${path.replace(userId, ':id')}`, method, path, rawJson: deep(20_000, 'x'), auth: path === '/auth/logout' ? 'none' : auth });
      list.push({ name: `a NUL 20,000 deep at ${method} ${path.replace(userId, ':id')}`, method, path, rawJson: deep(20_000, nulText), auth });
    }
    // Wrong JSON types.
    list.push({ name: 'a number for a reason', method: 'POST', path: `/admin/api/users/${userId}/lock`, json: { reason: 42 }, auth: 'admin' });
    list.push({ name: 'a string for the roles', method: 'PUT', path: `/admin/api/users/${userId}/roles`, json: { reason, roles: 'admin' }, auth: 'admin' });
    list.push({ name: 'an array for a body', method: 'POST', path: '/admin/api/revoke-all', json: [reason], auth: 'admin' });
    // Ids that match the route but are not UUIDs.
    for (const id of NOT_UUIDS) {
      const enc = encodeURIComponent(id);
      list.push({ name: `user id ${JSON.stringify(id)}: GET`, method: 'GET', path: `/admin/api/users/${enc}`, auth: 'admin' });
      list.push({ name: `user id ${JSON.stringify(id)}: sessions`, method: 'GET', path: `/admin/api/users/${enc}/sessions`, auth: 'admin' });
      for (const action of ['lock', 'unlock', 'revoke-sessions']) list.push({ name: `user id ${JSON.stringify(id)}: ${action}`, method: 'POST', path: `/admin/api/users/${enc}/${action}`, json: { reason }, auth: 'admin' });
      list.push({ name: `user id ${JSON.stringify(id)}: roles`, method: 'PUT', path: `/admin/api/users/${enc}/roles`, json: { reason, roles: [] }, auth: 'admin' });
      list.push({ name: `session id ${JSON.stringify(id)}: admin revoke`, method: 'POST', path: `/admin/api/sessions/${enc}/revoke`, json: { reason }, auth: 'admin' });
      list.push({ name: `session id ${JSON.stringify(id)}: my session`, method: 'DELETE', path: `/me/sessions/${enc}`, auth: 'user' });
    }
    list.push({ name: 'NUL in a client id param', method: 'POST', path: `/admin/api/clients/${encodeURIComponent(`c${NUL}`)}/revoke`, json: { reason }, auth: 'admin' });
    list.push({ name: 'NUL in a key id param', method: 'POST', path: `/admin/api/keys/${encodeURIComponent(`k${NUL}`)}/revoke`, json: { reason }, auth: 'admin' });
    // Query strings and cursors.
    for (const cursor of BAD_USER_CURSORS) list.push({ name: `user list cursor ${cursor.slice(0, 40)}`, method: 'GET', path: `/admin/api/users?cursor=${encodeURIComponent(cursor)}`, auth: 'admin' });
    for (const cursor of ['abc', '-1', '1.5', '9'.repeat(19), `1${NUL}`]) list.push({ name: `audit cursor ${JSON.stringify(cursor)}`, method: 'GET', path: `/admin/api/audit?cursor=${encodeURIComponent(cursor)}`, auth: 'admin' });
    list.push({ name: 'NUL in the user search', method: 'GET', path: `/admin/api/users?q=${encodeURIComponent(`a${NUL}`)}`, auth: 'admin' });
    for (const f of ['actor', 'target', 'action']) list.push({ name: `NUL in the audit filter ${f}`, method: 'GET', path: `/admin/api/audit?${f}=${encodeURIComponent(`a${NUL}`)}`, auth: 'admin' });
    list.push({ name: 'a limit that is not a number', method: 'GET', path: '/admin/api/users?limit=lots', auth: 'admin' });
    // The OAuth endpoints, before any authentication: the form and the Basic credentials.
    for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
      list.push({ name: `NUL in client_id at ${path}`, method: 'POST', path, form: { grant_type: 'client_credentials', token: 'x', client_id: `c${NUL}` }, auth: 'none', oauth: true });
      list.push({ name: `NUL in the token at ${path}`, method: 'POST', path, form: { grant_type: 'refresh_token', refresh_token: `r${NUL}`, token: `t${NUL}` }, auth: 'basic', oauth: true });
      list.push({ name: `NUL in the Basic client id at ${path}`, method: 'POST', path, form: { token: 'x', grant_type: 'client_credentials' }, auth: 'none', oauth: true });
    }
    list.push({ name: 'NUL in the username of the password grant', method: 'POST', path: '/oauth/token', form: { grant_type: 'password', username: `u${NUL}@example.com`, password: 'whatever password' }, auth: 'basic', oauth: true });
    list.push({ name: 'NUL in the password of the password grant', method: 'POST', path: '/oauth/token', form: { grant_type: 'password', username: 'u@example.com', password: `p${NUL}` }, auth: 'basic', oauth: true });
    list.push({ name: 'NUL in a scope', method: 'POST', path: '/oauth/token', form: { grant_type: 'client_credentials', scope: `read${NUL}` }, auth: 'basic', oauth: true });
    return list;
  }

  it('answers each class 4xx in the route’s format and changes nothing', async () => {
    const failures: string[] = [];
    for (const c of cases()) {
      const before = await fingerprint();
      const headers: Record<string, string> = {};
      let body: string | undefined;
      if (c.auth === 'user') headers.authorization = `Bearer ${userToken}`;
      if (c.auth === 'admin') headers.authorization = `Bearer ${adminToken}`;
      if (c.auth === 'basic') headers.authorization = basic(client);
      if (c.name.startsWith('NUL in the Basic client id')) headers.authorization = `Basic ${Buffer.from(`${client.clientId}${NUL}:${client.clientSecret}`).toString('base64')}`;
      if (c.rawJson !== undefined) {
        headers['content-type'] = 'application/json';
        body = c.rawJson;
      } else if (c.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(c.json);
      } else if (c.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(c.form).toString();
      }
      const res = await fetch(`${t.url}${c.path}`, { method: c.method, headers, body });
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // reported below
      }
      const formatOk = c.oauth ? /^application\/json/.test(type) && typeof parsed.error === 'string' : /^application\/problem\+json/.test(type) && typeof parsed.code === 'string';
      const after = await fingerprint();
      if (res.status < 400 || res.status >= 500 || !formatOk || after !== before) {
        failures.push(`${c.name}: ${res.status} ${type} ${text.slice(0, 120)}${after !== before ? ' [DATABASE CHANGED]' : ''}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
