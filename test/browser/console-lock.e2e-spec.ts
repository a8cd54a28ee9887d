import type { Browser } from 'playwright-core';
import { expect } from '../support/locator-expect.js';
import { codeFor, enrol, launchChromium, newContext, screenshot, seriousViolations, signIn, signOut, withChromium } from '../support/console-browser.js';
import { authGet, createClient, createUser, login } from '../support/fixtures.js';
import { staffApi } from '../support/staff-api.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { eventually, WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The console's main path, in Debian's Chromium: an admin signs in with password and TOTP, finds a
 * user who holds a live access token, locks the account with a reason, and watches the subscribing
 * service confirm it. Screenshots for the README are taken on the way.
 */
withChromium('console: lock a compromised account and watch every service confirm it', () => {
  let t: TestApp;
  let browser: Browser;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_DELAYS: '1,1' } });
    await receiver.start();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await receiver.stop();
    await t?.close();
  });

  it('signs in with password and TOTP, locks the user, and shows the delivery, the refusal and the audit entry', async () => {
    const api = await staffApi(t, ['admin']);
    const sub = await api.call('POST', '/admin/api/webhooks', { reason: 'notify the billing service', url: receiver.url, description: 'billing service', event_types: ['user.locked'] });
    expect(sub.status).toBe(201);
    receiver.secrets = [sub.body.secret];

    const admin = await createUser(t.app, { roles: ['admin'] });
    const victim = await createUser(t.app);
    const client = await createClient(t.app);
    const { access_token: token } = await login(t, client, victim);
    expect((await authGet(t, '/userinfo', token)).status).toBe(200);

    const context = await newContext(browser);
    const page = await context.newPage();
    // First sign-in enrols the authenticator; the second is the everyday one: password, then a code.
    const { secret } = await enrol(page, t.url, admin);
    await signOut(page);
    await signIn(page, t.url, admin, codeFor(secret, 1));
    await page.waitForURL(/\/admin\/users$/);

    await page.getByLabel('Email or user id').fill(victim.email);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByRole('row', { name: new RegExp(victim.email.replace(/[.+]/g, '\\$&')) });
    await expect(row.getByRole('cell').nth(4)).toHaveText('1');
    await screenshot(page, 'console-users');
    await row.getByRole('link', { name: victim.email }).click();

    await expect(page.getByRole('table', { name: `Live sessions of ${victim.email}` }).getByRole('row')).toHaveCount(2);
    await page.getByRole('button', { name: 'Lock account…' }).click();
    const dialog = page.getByRole('dialog', { name: `Lock ${victim.email}?` });
    await expect(dialog).toContainText('1 live session ends');
    await expect(dialog).toContainText(receiver.url);
    await dialog.getByLabel('Reason (written to the audit log)').fill('credential stuffing from 203.0.113.9');
    await screenshot(page, 'console-user-lock');
    await dialog.getByLabel(`I confirm: lock ${victim.email} now`).check();
    await dialog.getByRole('button', { name: 'Lock account' }).click();

    // The incident view: the lock, then the subscriber's confirmation, live.
    await page.waitForURL(/\/admin\/incidents\/\d+$/);
    await expect(page.getByRole('status')).toContainText(`Locked ${victim.email}`);
    expect((await authGet(t, '/userinfo', token)).status).toBe(401);
    const deliveries = page.getByRole('table', { name: 'Webhook deliveries' });
    await expect(deliveries.getByRole('row').nth(1)).toContainText('delivered', { timeout: 10_000 });
    await expect(deliveries).toContainText('HTTP 204');
    const received = await eventually(async () => receiver.received.find((r) => r.body.type === 'user.locked' && r.body.data.subject.id === victim.id), 10_000, 'user.locked');
    expect(received.verified).toEqual([true]);
    expect(received.body.data.reason).toBe('credential stuffing from 203.0.113.9');
    await screenshot(page, 'console-incident');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').fill('user.locked');
    await page.getByRole('button', { name: 'Filter' }).click();
    const entry = page.getByRole('row', { name: /credential stuffing from 203\.0\.113\.9/ });
    await expect(entry).toContainText('user.locked');
    await expect(entry).toContainText(victim.id);
    await screenshot(page, 'console-audit');
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });
});
