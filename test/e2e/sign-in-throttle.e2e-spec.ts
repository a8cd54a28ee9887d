import { createClient, createUser, login, PASSWORD, tokenRequest, type TestClient } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Every password check goes through one throttle, and the throttle holds under concurrency: an
 * attempt is reserved before the password is checked, so a burst of parallel guesses past the limit
 * is refused with 429, however many arrive at once.
 */
describe('sign-in throttle', () => {
  const LIMIT = 3;
  let t: TestApp;
  let client: TestClient;

  beforeAll(async () => {
    t = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: String(LIMIT), LOGIN_MAX_FAILURES_PER_IP: '1000', LOGIN_THROTTLE_WINDOW: '60' } });
    client = await createClient(t.app);
  });
  afterAll(() => t?.close());

  const guess = (email: string, password: string) => tokenRequest(t, client, { grant_type: 'password', username: email, password });
  const changePassword = (token: string, current: string) =>
    fetch(`${t.url}/me/password`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ current_password: current, new_password: 'a brand new long passphrase' }),
    });

  it('evaluates at most the limit of a burst of parallel wrong guesses: every other one is 429', async () => {
    const user = await createUser(t.app);
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => guess(user.email, `wrong guess number ${i}`)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(16 - LIMIT);
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(a.body.error).toBe('too_many_requests');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // The right password is refused too while the window lasts.
    expect((await guess(user.email, PASSWORD)).status).toBe(429);
  });

  it('gives a successful sign-in’s attempt back: successes never add up to a block', async () => {
    const user = await createUser(t.app);
    // The limit's worth at once (each in flight counts while it is checked), then more, one by one.
    const burst = await Promise.all(Array.from({ length: LIMIT }, () => guess(user.email, PASSWORD)));
    expect(burst.map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
    for (let i = 0; i < 2 * LIMIT; i++) expect((await guess(user.email, PASSWORD)).status).toBe(200);
    // Failures still count from zero: LIMIT of them are evaluated, then 429.
    for (let i = 0; i < LIMIT; i++) expect((await guess(user.email, `wrong guess ${i}`)).status).toBe(400);
    expect((await guess(user.email, 'wrong guess again')).status).toBe(429);
  });

  it('throttles POST /me/password with the same counters: a stolen access token cannot be turned into the password', async () => {
    const user = await createUser(t.app);
    const { access_token } = await login(t, client, user);
    for (let i = 0; i < LIMIT; i++) {
      const res = await changePassword(access_token, `wrong current password ${i}`);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'WRONG_PASSWORD' });
    }
    const blocked = await changePassword(access_token, PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await blocked.json()).toMatchObject({ code: 'TOO_MANY_SIGN_IN_ATTEMPTS' });
    // One account, one set of counters: the password grant is refused too, and the password is unchanged.
    expect((await guess(user.email, PASSWORD)).status).toBe(429);
  });

  it('throttles a parallel burst on POST /me/password as on the grant', async () => {
    const user = await createUser(t.app);
    const { access_token } = await login(t, client, user);
    const statuses = (await Promise.all(Array.from({ length: 10 }, (_, i) => changePassword(access_token, `wrong current password ${i}`)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 403)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10 - LIMIT);
  });
});
