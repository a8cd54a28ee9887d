import { startTestApp, type TestApp } from '../support/test-app.js';
import { createClient, createUser, login } from '../support/fixtures.js';

/**
 * Each route group answers errors in its own format, whoever raises them: the handler, a guard, or
 * Fastify before the handler runs (a body it cannot parse, a body too large, a media type it has no
 * parser for). The format follows the route group, not the URL.
 */
describe('error surfaces', () => {
  let t: TestApp;
  let staffToken: string;

  beforeAll(async () => {
    t = await startTestApp();
    const client = await createClient(t.app);
    const staff = await createUser(t.app, { roles: ['admin'] });
    staffToken = (await login(t, client, staff)).access_token;
  });
  afterAll(() => t?.close());

  const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${t.url}${path}`, { method: 'POST', headers, body });

  async function expectOAuth(res: Response, status: number, error: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    expect(body.error).toBe(error);
  }

  async function expectProblem(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status, code });
  }

  it.each(['/oauth/token', '/oauth/revoke', '/oauth/introspect'])('answers RFC 6749 JSON on %s for a media type Fastify has no parser for (refused before the handler)', async (path) => {
    await expectOAuth(await post(path, '<token/>', { 'content-type': 'application/xml' }), 400, 'invalid_request');
  });

  it('answers RFC 6749 JSON on the token endpoint for a body too large and for JSON it cannot parse', async () => {
    await expectOAuth(await post('/oauth/token', `grant_type=password&username=${'x'.repeat(70_000)}`, { 'content-type': 'application/x-www-form-urlencoded' }), 400, 'invalid_request');
    await expectOAuth(await post('/oauth/token', '{"grant_type":', { 'content-type': 'application/json' }), 400, 'invalid_request');
  });

  it('answers problem+json on the admin API for the same failures', async () => {
    const auth = { authorization: `Bearer ${staffToken}` };
    await expectProblem(await post('/admin/api/users', '<user/>', { ...auth, 'content-type': 'application/xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectProblem(await post('/admin/api/users', '{"reason":', { ...auth, 'content-type': 'application/json' }), 400, 'BAD_REQUEST');
    await expectProblem(await post('/admin/api/users', JSON.stringify({ reason: 'x'.repeat(70_000) }), { ...auth, 'content-type': 'application/json' }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers problem+json where no route matches, under /oauth too', async () => {
    await expectProblem(await fetch(`${t.url}/oauth/no-such-endpoint`), 404, 'NOT_FOUND');
  });
});
