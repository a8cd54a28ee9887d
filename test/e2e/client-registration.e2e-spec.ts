import { createUser } from '../support/fixtures.js';
import { cleanEnv, runCliAsync } from '../support/processes.js';
import { staffApi } from '../support/staff-api.js';
import { startTestApp } from '../support/test-app.js';

/**
 * Client apps registered with where they may send users back (redirect and post-logout URIs, matched
 * exactly), a back-channel logout URI and allowed CORS origins: through the admin API (admin only,
 * audited, the secret once) and the CLI.
 */
describe('client registration with redirect URIs, logout URIs and origins', () => {
  let t: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const spa = {
    reason: 'new billing SPA',
    name: 'billing SPA',
    type: 'public',
    grant_types: ['refresh_token'],
    scopes: ['read'],
    redirect_uris: ['https://billing.example.com/callback', 'http://127.0.0.1:5173/callback', 'com.example.billing:/oauth2redirect'],
    post_logout_redirect_uris: ['https://billing.example.com/'],
    backchannel_logout_uri: 'https://billing.example.com/backchannel-logout',
    allowed_origins: ['https://billing.example.com', 'http://127.0.0.1:5173'],
  };

  it('registers a client through the admin API (admin only), answers the secret once, and audits it', async () => {
    const admin = await staffApi(t, ['admin']);
    const r = await admin.call('POST', '/admin/api/clients', { ...spa, type: 'confidential', grant_types: ['client_credentials', 'refresh_token'] });
    expect(r.status).toBe(201);
    expect(r.body.client).toMatchObject({
      name: 'billing SPA',
      type: 'confidential',
      redirect_uris: spa.redirect_uris,
      post_logout_redirect_uris: spa.post_logout_redirect_uris,
      backchannel_logout_uri: spa.backchannel_logout_uri,
      allowed_origins: spa.allowed_origins,
    });
    expect(r.body.client_id).toBe(r.body.client.client_id);
    expect(r.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await admin.call('GET', '/admin/api/clients');
    const found = listed.body.clients.find((c: { client_id: string }) => c.client_id === r.body.client_id);
    expect(found).toMatchObject({ redirect_uris: spa.redirect_uris, allowed_origins: spa.allowed_origins });
    expect(JSON.stringify(listed.body)).not.toContain(r.body.client_secret);
    const audit = await admin.call('GET', `/admin/api/audit?action=client.created&target=${r.body.client_id}`);
    expect(audit.body.items).toEqual([expect.objectContaining({ reason: 'new billing SPA', actor: { type: 'admin', id: admin.staff.id } })]);

    const security = await staffApi(t, ['security']);
    const refused = await security.call('POST', '/admin/api/clients', spa);
    expect([refused.status, refused.body.code]).toEqual([403, 'ROLE_REQUIRED']);
  });

  it.each([
    ['redirect_uris', ['http://billing.example.com/callback'], 'must be https'],
    ['redirect_uris', ['https://billing.example.com/cb#x'], 'fragment'],
    ['redirect_uris', ['billing:/cb'], 'private-use'],
    ['post_logout_redirect_uris', ['/relative'], 'absolute'],
    ['backchannel_logout_uri', 'com.example.billing:/logout', 'https'],
    ['allowed_origins', ['https://billing.example.com/'], 'origin as a browser sends it'],
    ['allowed_origins', ['http://billing.example.com'], 'https'],
  ])('refuses %s %j with 400 INVALID_CLIENT_URI, and registers nothing', async (field, value, why) => {
    const admin = await staffApi(t, ['admin']);
    const before = (await admin.call('GET', '/admin/api/clients')).body.clients.length;
    const r = await admin.call('POST', '/admin/api/clients', { ...spa, [field]: value });
    expect([r.status, r.body.code]).toEqual([400, 'INVALID_CLIENT_URI']);
    expect(r.body.detail).toContain(why);
    expect((await admin.call('GET', '/admin/api/clients')).body.clients.length).toBe(before);
  });

  it('client:create takes the same, each flag repeatable, and prints the client', async () => {
    await createUser(t.app, { roles: ['admin'] });
    const env = cleanEnv({ NODE_ENV: 'test', LOG_LEVEL: 'error', DATABASE_URL: t.database.url, KEY_ENCRYPTION_KEY: t.config.keyEncryptionKey!, ISSUER: t.url });
    const args = ['client:create', '--name', 'mobile', '--type', 'public', '--grant', 'refresh_token'];
    for (const u of spa.redirect_uris) args.push('--redirect-uri', u);
    args.push('--post-logout-redirect-uri', 'com.example.billing:/logout', '--backchannel-logout-uri', spa.backchannel_logout_uri, '--allowed-origin', 'https://billing.example.com', '--json');
    const created = await runCliAsync(args, env);
    expect(created.status).toBe(0);
    const out = JSON.parse(created.stdout);
    expect(out.client).toMatchObject({ type: 'public', redirect_uris: spa.redirect_uris, post_logout_redirect_uris: ['com.example.billing:/logout'], backchannel_logout_uri: spa.backchannel_logout_uri, allowed_origins: ['https://billing.example.com'] });
    expect(out.client_secret).toBeUndefined();

    const bad = await runCliAsync(['client:create', '--name', 'x', '--type', 'public', '--grant', 'refresh_token', '--redirect-uri', 'http://evil.example.com/cb'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('must be https');
  });
});
