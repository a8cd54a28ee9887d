import { expect as jestExpect } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { CONSOLE_CSP } from '../../src/admin/console/console-headers.js';
import { consoleCookie as cookieAttributes } from '../../src/admin/console/console-sessions.js';
import { codeFor, launchChromium, newContext, screenshot, seriousViolations, signedInStaff, signOut, submitPassword, watchConsoleHeaders, withChromium } from '../support/console-browser.js';
import { createClient, createUser, login } from '../support/fixtures.js';
import { expect } from '../support/locator-expect.js';
import { staffApi } from '../support/staff-api.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/** Every console page: its headers, its accessibility (axe-core), the keyboard, a narrow window; screenshots for the README. */
withChromium('console pages', () => {
  let t: TestApp;
  let browser: Browser;
  const receiver = new WebhookReceiver();
  let pages: string[];
  let user: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    await receiver.start();
    browser = await launchChromium();
    const api = await staffApi(t, ['admin']);
    const sub = await api.call('POST', '/admin/api/webhooks', { reason: 'audit trail service', url: receiver.url, description: 'audit trail service' });
    receiver.secrets = [sub.body.secret];
    user = await createUser(t.app, { roles: ['reader'] });
    await login(t, await createClient(t.app, { name: 'billing app' }), user);
    const other = await createUser(t.app);
    const locked = await api.call('POST', `/admin/api/users/${other.id}/lock`, { reason: 'reported phishing' });
    pages = [
      '/admin/users',
      `/admin/users?q=${encodeURIComponent(user.email)}`,
      `/admin/users/${user.id}`,
      `/admin/incidents/${locked.body.audit_id}`,
      `/admin/incidents/${locked.body.audit_id}/deliveries`,
      '/admin/audit',
      '/admin/webhooks',
      `/admin/webhooks/${sub.body.id}`,
      '/admin/keys',
      '/admin/clients',
      '/admin/panic',
      '/admin/no-such-page',
    ];
  });

  afterAll(async () => {
    await browser?.close();
    await receiver.stop();
    await t?.close();
  });

  it('serves every page with the strict CSP, no-store, the helmet headers, and the session cookie attributes', async () => {
    // Before any session: the sign-in form's own token cookie (double submit), nothing stored on the server.
    const login = await fetch(`${t.url}/admin/login`);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^lk_console_login=[A-Za-z0-9_-]{43}; Path=\/admin; HttpOnly; SameSite=Strict$/);

    const { context } = await signedInStaff(browser, t.url, await createUser(t.app, { roles: ['admin'] }));
    const session = (await context.cookies()).find((c) => c.name === 'lk_console')!;
    expect({ path: session.path, httpOnly: session.httpOnly, sameSite: session.sameSite, secure: session.secure, expires: session.expires }).toEqual({ path: '/admin', httpOnly: true, sameSite: 'Strict', secure: false, expires: -1 });
    const cookie = `lk_console=${session.value}`;
    for (const path of ['/admin/login', ...pages]) {
      const r = await fetch(`${t.url}${path}`, { headers: path === '/admin/login' ? {} : { cookie }, redirect: 'manual' });
      const where = `${path} (${r.status})`;
      expect([where, r.status < 500]).toEqual([where, true]);
      expect([where, r.headers.get('content-type')]).toEqual([where, 'text/html; charset=utf-8']);
      expect([where, r.headers.get('content-security-policy')]).toEqual([where, CONSOLE_CSP]);
      expect([where, r.headers.get('cache-control')]).toEqual([where, 'no-store']);
      expect([where, r.headers.get('x-content-type-options')]).toEqual([where, 'nosniff']);
      expect([where, r.headers.get('x-frame-options')]).toEqual([where, 'DENY']);
      expect([where, r.headers.get('referrer-policy')]).toEqual([where, 'same-origin']);
      expect([where, r.headers.get('strict-transport-security')]).toEqual([where, jestExpect.stringContaining('max-age=')]);
    }
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|data:/);
    await context.close();
  });

  it('passes axe-core on every page (no serious or critical violation), each with the console headers; the webhooks page is photographed', async () => {
    const anonymous = await (await newContext(browser)).newPage();
    const problems = watchConsoleHeaders(anonymous, CONSOLE_CSP);
    const check = async (what: string) => expect([what, await seriousViolations(anonymous)]).toEqual([what, []]);
    await anonymous.goto(`${t.url}/admin/login`);
    await check('login');
    const fresh = await createUser(t.app, { roles: ['admin'] });
    await submitPassword(anonymous, t.url, fresh);
    await anonymous.waitForURL(/\/admin\/enrol$/);
    await check('enrol');
    const secret = (await anonymous.locator('#totp-secret').textContent())!.trim();
    await anonymous.getByLabel('Code from your authenticator app').fill(codeFor(secret));
    await anonymous.getByRole('button', { name: 'Confirm and continue' }).click();
    await anonymous.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await check('recovery codes');
    await anonymous.getByRole('link', { name: 'Continue to the console' }).click();
    await signOut(anonymous);
    await check('signed out');
    await submitPassword(anonymous, t.url, fresh);
    await anonymous.waitForURL(/\/admin\/login\/code$/);
    await check('code');
    await anonymous.getByLabel('Code from your authenticator app, or a recovery code').fill(codeFor(secret, 1));
    await anonymous.getByRole('button', { name: 'Verify' }).click();
    await anonymous.waitForURL(/\/admin\/users$/);

    const page = anonymous;
    for (const path of pages.filter((p) => !p.endsWith('/deliveries'))) {
      await page.goto(`${t.url}${path}`);
      await check(path);
    }
    await page.goto(`${t.url}/admin/users/${user.id}`);
    await page.getByRole('button', { name: 'Lock account…' }).click();
    await check('lock dialog');

    // The pages that show a secret once: a new subscription's, a rotated one's.
    await page.goto(`${t.url}/admin/webhooks`);
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}?via=console`);
    await page.getByLabel('Reason (written to the audit log)').fill('new downstream service');
    await page.getByLabel('I confirm: send revocation events to this URL').check();
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('heading', { name: 'Subscription created' }).waitFor();
    await expect(page.locator('#webhook-secret')).toContainText('whsec_');
    await check('new subscription secret');
    await page.getByRole('link', { name: 'Open the subscription' }).click();
    await page.getByLabel('Reason (written to the audit log)').nth(1).fill('scheduled rotation');
    await page.getByLabel('I confirm: a new secret (the old one keeps signing for the grace period)').check();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('heading', { name: 'Secret rotated' }).waitFor();
    await check('rotated secret');
    // An error page: a security-only staff member would get 403 here; an admin gets a 404 for a missing user.
    await page.goto(`${t.url}/admin/users/00000000-0000-4000-8000-000000000000`);
    await check('error page');

    await page.goto(`${t.url}/admin/webhooks`);
    await expect(page.getByRole('table', { name: 'Subscriptions' })).toContainText(receiver.url);
    await screenshot(page, 'console-webhooks');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('locks an account with the keyboard alone', async () => {
    const target = await createUser(t.app);
    const { context, page } = await signedInStaff(browser, t.url, await createUser(t.app, { roles: ['admin'] }));
    await page.goto(`${t.url}/admin/users`);
    await page.getByLabel('Email or user id').focus();
    await page.keyboard.type(target.email);
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=/);
    // Tab from the search field to the user's link, then through the user page to the lock button.
    const focused = (l: ReturnType<typeof page.getByRole>) => l.evaluate((el) => el === el.ownerDocument.activeElement);
    const tabTo = async (l: ReturnType<typeof page.getByRole>, what: string) => {
      for (let i = 0; i < 60 && !(await focused(l)); i++) await page.keyboard.press('Tab');
      expect([what, await focused(l)]).toEqual([what, true]);
    };
    await tabTo(page.getByRole('link', { name: target.email }), 'the user link');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/admin/users/${target.id}$`));
    await tabTo(page.getByRole('button', { name: 'Lock account…' }), 'the lock button');
    await page.keyboard.press('Enter');
    await page.keyboard.type('laptop stolen');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/admin\/incidents\/\d+$/);
    await expect(page.getByRole('status')).toContainText(`Locked ${target.email}`);
    await context.close();
  });

  it('reads on a narrow window: no page scrolls sideways', async () => {
    const { context, page } = await signedInStaff(browser, t.url, await createUser(t.app, { roles: ['admin'] }), { width: 375, height: 740 });
    for (const path of pages.filter((p) => !p.endsWith('/deliveries'))) {
      await page.goto(`${t.url}${path}`);
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      const wide = overflow ? await page.evaluate(`[...document.querySelectorAll('main *, header *')].filter((e) => !e.closest('.table-wrap table') && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`) : [];
      expect([path, overflow, wide]).toEqual([path, 0, []]);
    }
    await context.close();
  });
});

// Its own app, after the other's is closed: passport's strategies are process-wide, so two apps must not overlap in one test file.
describe('console cookies under https', () => {
  it('under an https issuer, the cookies are __Host- prefixed and Secure (Path=/, which the prefix requires)', async () => {
    const https = await startTestApp({ env: { ISSUER: 'https://id.example.test' } });
    try {
      const r = await fetch(`${https.url}/admin/login`);
      expect(r.headers.get('set-cookie')).toMatch(/^__Host-lk_console_login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
      // The session cookie itself: the same attributes, from the same place.
      expect(cookieAttributes('https://id.example.test')).toEqual({ name: '__Host-lk_console', path: '/', httpOnly: true, sameSite: 'strict', secure: true });
    } finally {
      await https.close();
    }
  });
});
