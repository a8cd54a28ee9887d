import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { Database } from '../../src/infra/database/database.js';
import { UsersService } from '../../src/users/users.service.js';
import { codeFor, consoleCookie, enrol, launchChromium, newContext, signedInStaff, signIn, signOut, submitPassword, withChromium } from '../support/console-browser.js';
import { createUser } from '../support/fixtures.js';
import { expect } from '../support/locator-expect.js';
import { staffApi } from '../support/staff-api.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const WRONG = 'Sign-in failed: the email or password is wrong, or the account may not use the console.';
const BAD_CODE = 'That code is wrong, or was used already.';

/** A six-digit code that is none of the three the console would accept now. */
const wrongCode = (secret: string) => {
  const valid = new Set([-1, 0, 1].map((s) => codeFor(secret, s)));
  for (let n = 0; ; n++) if (!valid.has(String(n).padStart(6, '0'))) return String(n).padStart(6, '0');
};

/** A form POST from inside the page (its own origin and cookie), as a script on the page would send it. */
const postFromPage = (page: Page, path: string, fields: Record<string, string>) =>
  page.evaluate(
    async ({ path, fields }) => {
      const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
      return { status: r.status, url: r.url, text: await r.text() };
    },
    { path, fields },
  );
const csrfOf = async (page: Page) => (await page.locator('input[name=_csrf]').first().getAttribute('value'))!;

withChromium('console security: sign-in failures, throttling, sessions, roles, CSRF and XSS', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const statusOfNext = (page: Page, path: string) => page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST');

  it('refuses a wrong password, a wrong code, a replayed code and a recovery code used twice', async () => {
    const staff = await createUser(t.app, { roles: ['security'] });
    const context = await newContext(browser);
    const page = await context.newPage();
    const { secret, recoveryCodes } = await enrol(page, t.url, staff);
    expect(recoveryCodes).toHaveLength(10);
    await signOut(page);

    const wrongPassword = statusOfNext(page, '/admin/login');
    await submitPassword(page, t.url, { email: staff.email, password: 'not the password at all' });
    expect((await wrongPassword).status()).toBe(401);
    await expect(page.getByRole('alert')).toHaveText(WRONG);
    expect(new URL(page.url()).pathname).toBe('/admin/login');

    const wrong = statusOfNext(page, '/admin/login/code');
    await signIn(page, t.url, staff, wrongCode(secret));
    expect((await wrong).status()).toBe(401);
    await expect(page.getByRole('alert')).toHaveText(BAD_CODE);

    const code = codeFor(secret, 1);
    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/admin\/users$/);
    await signOut(page);

    // The same code again, within its window: a replay.
    await signIn(page, t.url, staff, code);
    await expect(page.getByRole('alert')).toHaveText(BAD_CODE);

    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(recoveryCodes[0]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/admin\/users$/);
    await signOut(page);
    await signIn(page, t.url, staff, recoveryCodes[0]);
    await expect(page.getByRole('alert')).toHaveText(BAD_CODE);
    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(recoveryCodes[1].toUpperCase());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/admin\/users$/);
    await context.close();
  });

  it('throttles repeated failed sign-ins, even with the right password after them', async () => {
    const staff = await createUser(t.app, { roles: ['admin'] });
    const page = await (await newContext(browser)).newPage();
    for (let i = 0; i < 3; i++) {
      await submitPassword(page, t.url, { email: staff.email, password: `wrong guess ${i}` });
      await expect(page.getByRole('alert')).toHaveText(WRONG);
    }
    const throttled = statusOfNext(page, '/admin/login');
    await submitPassword(page, t.url, staff);
    const answer = await throttled;
    expect(answer.status()).toBe(429);
    expect(Number(answer.headers()['retry-after'])).toBeGreaterThan(0);
    await expect(page.getByRole('alert')).toContainText('Too many failed sign-ins');
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.context().close();
  });

  it('throttles wrong codes: past CONSOLE_MAX_CODE_FAILURES even the right code is refused with 429', async () => {
    const staff = await createUser(t.app, { roles: ['security'] });
    const { context, page, secret } = await signedInStaff(browser, t.url, staff);
    await signOut(page);
    await submitPassword(page, t.url, staff);
    await page.waitForURL(/\/admin\/login\/code$/);
    const field = page.getByLabel('Code from your authenticator app, or a recovery code');
    for (let i = 0; i < 5; i++) {
      await field.fill(wrongCode(secret));
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect(page.getByRole('alert')).toHaveText(BAD_CODE);
    }
    const throttled = statusOfNext(page, '/admin/login/code');
    await field.fill(codeFor(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    const answer = await throttled;
    expect(answer.status()).toBe(429);
    expect(Number(answer.headers()['retry-after'])).toBeGreaterThan(0);
    await expect(page.getByRole('alert')).toContainText('Too many wrong codes');
    await context.close();
  });

  it('a sign-in half done (password checked) does not survive "sign out everywhere": the code step refuses it', async () => {
    const staff = await createUser(t.app, { roles: ['security'] });
    const { context, page, secret } = await signedInStaff(browser, t.url, staff);
    await signOut(page);
    await submitPassword(page, t.url, staff);
    await page.waitForURL(/\/admin\/login\/code$/);
    const admin = await staffApi(t, ['admin']);
    expect((await admin.call('POST', `/admin/api/users/${staff.id}/revoke-sessions`, { reason: 'password phished' })).status).toBe(200);
    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(codeFor(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/admin\/login$/);
    await page.goto(`${t.url}/admin/users`);
    await page.waitForURL(/\/admin\/login$/);
    await context.close();
  });

  it('the panic button ends every staff console but the one that pressed it', async () => {
    const admin = await createUser(t.app, { roles: ['admin'] });
    const other = await createUser(t.app, { roles: ['security'] });
    const theirs = await signedInStaff(browser, t.url, other);
    const { context, page } = await signedInStaff(browser, t.url, admin);
    await page.getByRole('link', { name: 'Panic button' }).click();
    await page.getByLabel('Reason (written to the audit log)').fill('signing key leaked on a paste site');
    await page.getByLabel('Type REVOKE EVERYTHING to confirm').fill('REVOKE EVERYTHING');
    await page.getByLabel('I confirm: every user and every client signs in again').check();
    await page.getByRole('button', { name: 'Revoke everything now' }).click();
    await page.waitForURL(/\/admin\/incidents\/\d+$/);
    await expect(page.getByRole('status')).toContainText('console sessions included');
    await theirs.page.getByRole('link', { name: 'Audit log' }).click();
    await theirs.page.waitForURL(/\/admin\/login$/);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/admin\/audit$/);
    await context.close();
    await theirs.context.close();
  });

  it('sign-out ends the session on the server: its cookie opens nothing afterwards', async () => {
    const staff = await createUser(t.app, { roles: ['security'] });
    const { context, page } = await signedInStaff(browser, t.url, staff);
    const id = await consoleCookie(context);
    await signOut(page);
    const replay = await fetch(`${t.url}/admin/users`, { headers: { cookie: `lk_console=${id}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/admin/login');
    await context.close();
  });

  it('a security user sees no role editing, and the roles endpoint refuses them with 403', async () => {
    const staff = await createUser(t.app, { roles: ['security'] });
    const other = await createUser(t.app, { roles: ['reader'] });
    const { context, page } = await signedInStaff(browser, t.url, staff);
    await page.goto(`${t.url}/admin/users/${other.id}`);
    await expect(page.getByRole('heading', { name: 'Actions' })).toHaveCount(1);
    await expect(page.getByRole('heading', { name: 'Roles' })).toHaveCount(0);
    await expect(page.getByLabel('Roles (separated by spaces or commas)')).toHaveCount(0);
    const r = await postFromPage(page, `/admin/users/${other.id}/roles`, { _csrf: await csrfOf(page), reason: 'make me admin', confirm: 'yes', roles: 'admin' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('This needs the role admin');
    expect((await t.app.get(UsersService).findById(other.id))!.roles).toEqual(['reader']);
    await context.close();
  });

  it('a staff user locked by another loses the open console at once, and their next action changes nothing', async () => {
    const staff = await createUser(t.app, { roles: ['security'] });
    const target = await createUser(t.app);
    const { context, page } = await signedInStaff(browser, t.url, staff);
    await page.goto(`${t.url}/admin/users/${target.id}`);
    const csrf = await csrfOf(page);

    const admin = await staffApi(t, ['admin']);
    expect((await admin.call('POST', `/admin/api/users/${staff.id}/lock`, { reason: 'insider: remove access now' })).status).toBe(200);

    const r = await postFromPage(page, `/admin/users/${target.id}/lock`, { _csrf: csrf, reason: 'revenge', confirm: 'yes' });
    expect(new URL(r.url).pathname).toBe('/admin/login');
    expect((await t.app.get(UsersService).findById(target.id))!.status).toBe('active');
    await page.getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/admin\/login$/);
    await context.close();
  });

  it('an admin resets a staff member’s TOTP: audited with the reason, their console ends, and their next sign-in enrols again', async () => {
    const admin = await createUser(t.app, { roles: ['admin'] });
    const staff = await createUser(t.app, { roles: ['security'] });
    const theirs = await signedInStaff(browser, t.url, staff);
    const { context, page } = await signedInStaff(browser, t.url, admin);
    await page.goto(`${t.url}/admin/users/${staff.id}`);
    await expect(page.getByRole('definition').filter({ hasText: 'set up' })).toHaveCount(1);
    await page.getByLabel('Reason (written to the audit log)').last().fill('lost phone, ticket 4411');
    await page.getByLabel(`I confirm: ${staff.email} sets up a new authenticator at next sign-in`).check();
    await page.getByRole('button', { name: 'Reset two-step verification' }).click();
    await page.waitForURL(/\/admin\/incidents\/\d+$/);
    await page.goto(`${t.url}/admin/audit?action=staff.totp_reset`);
    await expect(page.getByRole('table')).toContainText('lost phone, ticket 4411');

    await theirs.page.getByRole('link', { name: 'Audit log' }).click();
    await theirs.page.waitForURL(/\/admin\/login$/);
    await submitPassword(theirs.page, t.url, staff);
    await theirs.page.waitForURL(/\/admin\/enrol$/);
    await context.close();
    await theirs.context.close();
  });

  describe('CSRF', () => {
    let attacker: Server;
    let attackerUrl: string;
    beforeAll(async () => {
      // Another origin on loopback, whose page posts a lock form to the console as soon as it loads.
      attacker = createServer((req, res) => {
        const q = new URL(req.url!, 'http://x').searchParams;
        const token = q.get('token');
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<form id="f" method="post" action="${t.url}/admin/users/${q.get('target')}/lock"><input name="reason" value="csrf"><input name="confirm" value="yes">` +
            (token ? `<input name="_csrf" value="${token}">` : '') +
            `</form><script>document.getElementById('f').submit()</script>`,
        );
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => attacker.close(resolve)));

    it('refuses a state-changing request without the token, or from another origin, and changes nothing', async () => {
      const staff = await createUser(t.app, { roles: ['admin'] });
      const target = await createUser(t.app);
      const { context, page } = await signedInStaff(browser, t.url, staff);
      await page.goto(`${t.url}/admin/users/${target.id}`);

      const noToken = await postFromPage(page, `/admin/users/${target.id}/lock`, { reason: 'no token', confirm: 'yes' });
      expect(noToken.status).toBe(403);
      expect(noToken.text).toContain('nothing was changed');

      const forged = await postFromPage(page, `/admin/users/${target.id}/lock`, { _csrf: 'x'.repeat(43), reason: 'forged token', confirm: 'yes' });
      expect(forged.status).toBe(403);

      // Another origin's page (same site: 127.0.0.1, another port), in the same browser: the console's
      // cookie goes with its form. Without the token; then even with the right token, which only the
      // Origin check can refuse.
      const csrfToken = await csrfOf(page);
      for (const query of [`target=${target.id}`, `target=${target.id}&token=${csrfToken}`]) {
        const evil = await context.newPage();
        const answered = evil.waitForResponse((r) => r.url().endsWith(`/admin/users/${target.id}/lock`));
        await evil.goto(`${attackerUrl}/?${query}`);
        const answer = await answered;
        expect([query, answer.status(), (await answer.request().allHeaders()).cookie?.includes('lk_console=') ?? false]).toEqual([query, 403, true]);
        await evil.close();
      }

      // The right token and cookie, from another origin (a request a browser would never send): the Origin check alone refuses it.
      const csrf = await csrfOf(page);
      const cookie = await consoleCookie(context);
      const crossOrigin = await fetch(`${t.url}/admin/users/${target.id}/lock`, {
        method: 'POST',
        headers: { cookie: `lk_console=${cookie}`, origin: attackerUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, reason: 'cross origin', confirm: 'yes' }).toString(),
        redirect: 'manual',
      });
      expect(crossOrigin.status).toBe(403);

      expect((await t.app.get(UsersService).findById(target.id))!.status).toBe('active');
      // The same request from the page itself, with the token, does lock: the refusals above were the checks.
      const real = await postFromPage(page, `/admin/users/${target.id}/lock`, { _csrf: csrf, reason: 'the real thing', confirm: 'yes' });
      expect(new URL(real.url).pathname).toMatch(/^\/admin\/incidents\/\d+$/);
      expect((await t.app.get(UsersService).findById(target.id))!.status).toBe('locked');
      await context.close();
    });
  });

  it('renders markup in a reason and in a stored email as text', async () => {
    const staff = await createUser(t.app, { roles: ['admin'] });
    const target = await createUser(t.app);
    // An email holding markup cannot be created through Latchkey (it is validated); one that got into the table anyway still renders as text.
    const markupEmail = `<img src=x onerror="window.__xss=1">${target.id.slice(0, 8)}@example.com`;
    await t.app.get(Database).query('UPDATE users SET email = $2 WHERE id = $1', [target.id, markupEmail]);
    const reason = '<script>window.__xss=2</script><b onmouseover="window.__xss=3">bold</b>';
    const { context, page } = await signedInStaff(browser, t.url, staff);
    let dialogs = 0;
    page.on('dialog', () => void dialogs++);

    await page.goto(`${t.url}/admin/users?q=${encodeURIComponent(target.id)}`);
    await expect(page.getByRole('link', { name: markupEmail })).toHaveCount(1);
    await page.getByRole('link', { name: markupEmail }).click();
    await page.getByRole('button', { name: 'Lock account…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason (written to the audit log)').fill(reason);
    await dialog.getByRole('checkbox').check();
    await dialog.getByRole('button', { name: 'Lock account' }).click();
    await page.waitForURL(/\/admin\/incidents\/\d+$/);
    await expect(page.locator('#incident-reason')).toHaveText(reason);

    await page.goto(`${t.url}/admin/audit?target=${target.id}`);
    await expect(page.getByRole('table')).toContainText(reason);
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toBe(0);
    await context.close();
  });
});

withChromium('console sessions: idle expiry', () => {
  let t: TestApp;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestApp({ env: { CONSOLE_IDLE_TIMEOUT: '2' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('ends a session left idle past the idle timeout', async () => {
    const staff = await createUser(t.app, { roles: ['admin'] });
    const { context, page } = await signedInStaff(browser, t.url, staff);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/admin\/audit$/);
    await new Promise((r) => setTimeout(r, 2_500));
    await page.getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/admin\/login$/);
    await context.close();
  });
});
