import { connect } from 'node:net';
import { loadConfig } from '../../src/config/config.schema.js';
import { authGet, createClient, createUser, login, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * What every HTTP answer carries, whoever gives it (a handler, a filter, the 404 handler, Fastify's
 * router, Node's HTTP parser): one error format, helmet's headers, a request id; no personal data
 * cacheable; no slow client holding a connection; an empty JSON body read as no body.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HELMET = ['x-content-type-options', 'strict-transport-security', 'x-frame-options', 'referrer-policy', 'cross-origin-opener-policy', 'x-dns-prefetch-control'];

interface RawAnswer {
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (after answering or not). */
  closed: boolean;
  /** Nothing happened within the wait: neither an answer nor a close. */
  timedOut: boolean;
}

/**
 * Writes bytes on a raw TCP connection (for what fetch refuses to send) and reads what comes back
 * until the server closes the connection, `untilAnswer` is set and a whole answer arrived, or
 * `waitMs` passes (the failure case of a test that expects an answer or a close).
 */
function rawRequest(t: TestApp, bytes: string, { waitMs = 10_000, untilAnswer = false } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    let data = '';
    let settled = false;
    const finish = (closed: boolean, timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head ? head.split('\r\n') : [];
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const status = statusLine ? Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]) : undefined;
      resolve({ status, headers, body: rest.join('\r\n\r\n'), closed, timedOut });
    };
    const timer = setTimeout(() => finish(false, true), waitMs);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const length = /\r\ncontent-length: *(\d+)/i.exec(data)?.[1];
      const bodyStart = data.indexOf('\r\n\r\n');
      if (untilAnswer && length !== undefined && bodyStart >= 0 && data.length - bodyStart - 4 >= Number(length)) finish(false, false);
    });
    socket.on('close', () => finish(true, false));
    socket.on('error', () => finish(true, false));
    socket.write(bytes, 'latin1');
  });
}

const get = (path: string, headers: string[] = []) => ['GET ' + path + ' HTTP/1.1', 'Host: localhost', ...headers, 'Connection: close', '', ''].join('\r\n');

describe('HTTP hardening', () => {
  let t: TestApp;
  let client: TestClient;
  let adminToken: string;
  /** Helmet's headers on an ordinary routed answer: every other answer must carry the same. */
  let helmetHeaders: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp();
    client = await createClient(t.app);
    const admin = await createUser(t.app, { roles: ['admin'] });
    adminToken = (await login(t, client, admin)).access_token;
    const live = await fetch(`${t.url}/health/live`);
    helmetHeaders = Object.fromEntries(HELMET.map((h) => [h, live.headers.get(h) ?? 'missing']));
    expect(Object.values(helmetHeaders)).not.toContain('missing');
  });
  afterAll(() => t?.close());

  function expectHardened(headers: Record<string, string | undefined>) {
    expect(Object.fromEntries(HELMET.map((h) => [h, headers[h]]))).toEqual(helmetHeaders);
    expect(headers['cache-control']).toBe('no-store');
  }

  function expectProblem(answer: RawAnswer, status: number) {
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectHardened(answer.headers);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(body).toMatchObject({ status, type: expect.stringMatching(/^urn:latchkey:error:/), title: expect.any(String), code: expect.any(String) });
    expect(body.request_id).toBe(answer.headers['x-request-id']);
    expect(answer.headers['x-request-id']).toMatch(UUID);
    return body;
  }

  describe('one format for every error (point 8)', () => {
    it.each(['/%zz', '/%', '/admin/api/users/%E0%A4%A'])('answers a URL the router cannot decode (%s) in problem+json, with the security headers and a request id', async (path) => {
      const body = expectProblem(await rawRequest(t, get(path), { untilAnswer: true }), 400);
      expect(body).toMatchObject({ code: 'BAD_REQUEST', instance: path });
      expect(JSON.stringify(body)).not.toContain('FST_ERR');
    });

    it('answers a route parameter past the router limit in problem+json too', async () => {
      expectProblem(await rawRequest(t, get(`/admin/api/users/${'a'.repeat(150)}`), { untilAnswer: true }), 414);
    });

    it('answers a request Node cannot parse (an invalid header) in problem+json, with the security headers and a new request id', async () => {
      const answer = await rawRequest(t, get('/health/live', ['Bad Header: x']));
      expect(expectProblem(answer, 400)).toMatchObject({ code: 'BAD_REQUEST' });
      expect(answer.headers.connection).toBe('close');
      expect(answer.closed).toBe(true);
    });

    it('answers headers past the size limit in problem+json', async () => {
      expectProblem(await rawRequest(t, get('/health/live', [`X-Padding: ${'a'.repeat(20_000)}`])), 431);
    });

    it('carries the same headers on a 404, under /oauth too', async () => {
      for (const path of ['/nope', '/oauth/no-such-endpoint']) {
        const res = await fetch(`${t.url}${path}`);
        expect(res.status).toBe(404);
        expectHardened(Object.fromEntries(res.headers));
        expect(res.headers.get('x-request-id')).toMatch(UUID);
        expect(await res.json()).toMatchObject({ code: 'NOT_FOUND', request_id: res.headers.get('x-request-id') });
      }
    });

    it('uses the caller’s X-Request-Id when it is a well-formed id, on successes and errors alike', async () => {
      for (const id of ['good-id_1.2:3', 'a'.repeat(64)]) {
        const ok = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': id } });
        expect(ok.headers.get('x-request-id')).toBe(id);
        const missing = await fetch(`${t.url}/nope`, { headers: { 'x-request-id': id } });
        expect(missing.headers.get('x-request-id')).toBe(id);
        expect(await missing.json()).toMatchObject({ request_id: id });
      }
    });

    it.each([
      ['too long', 'a'.repeat(65)],
      ['with a space', 'a b'],
      ['with a slash', 'a/b'],
      ['with a quote', 'a"b'],
      ['with a non-ASCII character', 'caf\u00e9'],
      ['given twice', null],
    ])('replaces an X-Request-Id %s by a UUID', async (_, id) => {
      const headers = id === null ? ['X-Request-Id: a', 'X-Request-Id: b'] : [`X-Request-Id: ${id}`];
      const answer = await rawRequest(t, get('/nope', headers), { untilAnswer: true });
      expect(answer.status).toBe(404);
      expect(answer.headers['x-request-id']).toMatch(UUID);
      expect(JSON.parse(answer.body)).toMatchObject({ request_id: answer.headers['x-request-id'] });
    });

    it.each([
      ['a NUL', 'xyz\0qrs'],
      ['a bare CR', 'xyz\rqrs'],
      ['a bare LF', 'xyz\nqrs'],
    ])('refuses an X-Request-Id with %s (400 problem+json), with a new UUID and nothing of the given id', async (_, id) => {
      const answer = await rawRequest(t, get('/health/live', [`X-Request-Id: ${id}`]));
      expectProblem(answer, 400);
      // Not hex digits: the new UUID in the body cannot contain them by chance.
      expect(answer.body).not.toContain('xyz');
      expect(answer.body).not.toContain('qrs');
    });
  });

  describe('personal data is never cacheable (point 9)', () => {
    it('answers /userinfo, /me/sessions and the admin API with Cache-Control: no-store', async () => {
      const user = await createUser(t.app);
      const token = (await login(t, client, user)).access_token;
      for (const [path, bearer] of [
        ['/userinfo', token],
        ['/me/sessions', token],
        ['/admin/api/users', adminToken],
        [`/admin/api/users/${user.id}`, adminToken],
        [`/admin/api/users/${user.id}/sessions`, adminToken],
        ['/admin/api/audit', adminToken],
      ]) {
        const r = await authGet(t, path, bearer);
        expect({ path, status: r.status, cacheControl: r.headers.get('cache-control') }).toEqual({ path, status: 200, cacheControl: 'no-store' });
      }
    });

    it('keeps the public caching of discovery and JWKS', async () => {
      for (const [path, cacheControl] of [
        ['/.well-known/openid-configuration', 'public, max-age=300'],
        ['/.well-known/oauth-authorization-server', 'public, max-age=300'],
        ['/.well-known/jwks.json', 'public, max-age=60'],
      ]) {
        const res = await fetch(`${t.url}${path}`);
        expect({ path, status: res.status, cacheControl: res.headers.get('cache-control') }).toEqual({ path, status: 200, cacheControl });
      }
    });
  });

  describe('JSON bodies (point 12)', () => {
    const post = (path: string, token: string, body?: string) =>
      fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });

    it('logs out with Content-Type: application/json and an empty body: 204, and the session is revoked', async () => {
      for (const body of [undefined, '']) {
        const user = await createUser(t.app);
        const tokens = await login(t, client, user);
        const res = await post('/auth/logout', tokens.access_token, body);
        expect(res.status).toBe(204);
        expect((await authGet(t, '/userinfo', tokens.access_token)).status).toBe(401);
      }
    });

    it('reads an empty JSON body as no body: the admin API validates it (400 VALIDATION_FAILED)', async () => {
      const res = await post('/admin/api/users', adminToken);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('still refuses malformed JSON, prototype pollution and a body past the limit, in problem+json', async () => {
      for (const [body, status, code] of [
        ['{"reason":', 400, 'BAD_REQUEST'],
        ['   ', 400, 'BAD_REQUEST'],
        ['{"reason":"x","__proto__":{"admin":true}}', 400, 'BAD_REQUEST'],
        ['{"reason":"x","constructor":{"prototype":{"admin":true}}}', 400, 'BAD_REQUEST'],
        [JSON.stringify({ reason: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
      ] as const) {
        const res = await post('/admin/api/users', adminToken, body);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect({ body: body.slice(0, 40), status: res.status, code: ((await res.json()) as { code: string }).code }).toEqual({ body: body.slice(0, 40), status, code });
      }
    });
  });
});

describe('HTTP timeouts (point 10)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { HTTP_REQUEST_TIMEOUT_MS: '1500', HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => t?.close());

  /** The server answered 408 and closed, or at least closed, before the test gave up. */
  function expectAnsweredOrClosed(answer: RawAnswer) {
    expect({ timedOut: answer.timedOut, closed: answer.closed }).toEqual({ timedOut: false, closed: true });
    if (answer.status !== undefined) {
      expect(answer.status).toBe(408);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.headers['x-request-id']).toMatch(UUID);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
  }

  it('answers or closes a request whose body never completes', async () => {
    const head = ['POST /admin/api/users HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', 'Content-Length: 100', '', ''].join('\r\n');
    expectAnsweredOrClosed(await rawRequest(t, `${head}{"reason":"par`));
  });

  it('answers or closes a request whose headers never complete', async () => {
    expectAnsweredOrClosed(await rawRequest(t, 'GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: a'));
  });

  it('closes an idle keep-alive connection', async () => {
    const answer = await rawRequest(t, 'GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(answer.status).toBe(200);
    expect({ timedOut: answer.timedOut, closed: answer.closed }).toEqual({ timedOut: false, closed: true });
  });

  it('refuses a headers timeout longer than the request timeout, and has documented defaults', () => {
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '6000' })).toThrow(/^Invalid configuration: HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: 'soon' })).toThrow(/^Invalid configuration: HTTP_KEEP_ALIVE_TIMEOUT_MS: expected a whole number/);
    expect(loadConfig({})).toMatchObject({ httpRequestTimeoutMs: 30_000, httpHeadersTimeoutMs: 10_000, httpKeepAliveTimeoutMs: 5_000 });
  });
});
