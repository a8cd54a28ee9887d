import { startTestApp, type TestApp } from '../support/test-app.js';

describe('health and errors over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('answers live and ready', async () => {
    expect((await fetch(`${t.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${t.url}/health/ready`);
    expect(ready.status).toBe(200);
    const body: any = await ready.json();
    expect(body.details.database.status).toBe('up');
    expect(body.details.redis.status).toBe('up');
    expect(body.details.redis.store).toBe(process.env.REDIS_URL ? undefined : 'in-process');
  });

  it('answers an unknown route with problem+json, a stable code and the request id', async () => {
    const res = await fetch(`${t.url}/no/such/route?token=secret`, { headers: { 'x-request-id': 'req-42' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect(await res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND', title: 'Not Found', instance: '/no/such/route', request_id: 'req-42' });
  });

  it('replaces an unusable request id with its own', async () => {
    const res = await fetch(`${t.url}/health/live`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('readiness when Redis is unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_COMMAND_TIMEOUT_MS: '100' } });
  });
  afterAll(() => t?.close());

  it('is not ready, and says Redis is down', async () => {
    const res = await fetch(`${t.url}/health/ready`);
    expect(res.status).toBe(503);
    const body: any = await res.json();
    expect(body.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.details.redis.status).toBe('down');
    expect(body.details.database.status).toBe('up');
    expect((await fetch(`${t.url}/health/live`)).status).toBe(200);
  });
});
