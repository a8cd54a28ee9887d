import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/tokens/oidc-tokens.js';
import { launchChromium, newContext, screenshot, seriousViolations, withChromium } from '../support/console-browser.js';
import { createClient, createUser, type TestClient } from '../support/fixtures.js';
import { SpaServer } from '../support/spa-server.js';
import { staffApi } from '../support/staff-api.js';
import { startTestApp } from '../support/test-app.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * A single-page app on another loopback origin signs a user in with oidc-client-ts (authorization
 * code + PKCE) through the hosted sign-in page, calls /userinfo from the browser (CORS); an admin
 * locks the user, and the app's token is refused while the client's back-channel logout receiver
 * gets a logout token that verifies against the JWKS.
 */
withChromium('a single-page app signs in with oidc-client-ts through the hosted page', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  let spa: SpaServer;
  let rx: WebhookReceiver;
  let client: TestClient;
  let browser: Browser;

  beforeAll(async () => {
    rx = await new WebhookReceiver().start();
    t = await startTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_DELAYS: '1,1' } });
    spa = await new SpaServer().start();
    client = await createClient(t.app, {
      name: 'Demo SPA',
      type: 'public',
      grants: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'email'],
      redirectUris: [`${spa.url}/callback`],
      postLogoutRedirectUris: [`${spa.url}/`],
      backchannelLogoutUri: `${rx.url}/backchannel`,
      allowedOrigins: [spa.url],
    });
    Object.assign(spa.config, { issuer: t.url, clientId: client.clientId });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await spa?.stop();
    await t?.close();
    await rx?.stop();
  });

  it('signs in, reads userinfo across origins, and is cut off by a lock with a back-channel logout', async () => {
    const user = await createUser(t.app);
    const page = await (await newContext(browser)).newPage();
    await page.goto(`${spa.url}/`);
    await page.getByText('signed out').waitFor();
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.waitForURL((u) => u.href.startsWith(`${t.url}/oauth/authorize?`));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in-page');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.waitForURL(`${spa.url}/`);
    await page.getByText(`signed in as ${user.id}`).waitFor();
    await page.getByRole('button', { name: 'Call userinfo' }).click();
    await page.getByText(`200 ${JSON.stringify({ sub: user.id, email: user.email, roles: [] })}`).waitFor();

    const admin = await staffApi(t, ['admin']);
    expect((await admin.call('POST', `/admin/api/users/${user.id}/lock`, { reason: 'phished' })).status).toBe(200);

    await page.getByRole('button', { name: 'Call userinfo' }).click();
    await page.locator('#userinfo', { hasText: /^401 / }).waitFor();

    const [told] = await rx.waitFor((r) => r.body.logout_token !== undefined);
    const { payload } = await jwtVerify(told.body.logout_token!, createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`)), { issuer: t.url, audience: client.clientId, algorithms: ['ES256'] });
    expect(payload).toMatchObject({ sub: user.id, events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } });
    expect(typeof payload.sid).toBe('string');
  });

  it('shows the logout confirmation page when the app sends no id_token_hint', async () => {
    const page = await (await newContext(browser)).newPage();
    await page.goto(`${t.url}/oauth/logout?client_id=${client.clientId}&post_logout_redirect_uri=${encodeURIComponent(`${spa.url}/`)}`);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'logout-confirmation');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${spa.url}/`);
  });
});
