import { ConfigError, loadConfig } from './config.schema.js';

describe('loadConfig', () => {
  it('gives the documented defaults on an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, issuer: 'http://localhost:3000', databaseUrl: undefined, redisUrl: undefined, dataDir: './data', accessTokenTtl: 900, migrationsRun: true });
  });

  it('reads durations with units', () => {
    expect(loadConfig({ ACCESS_TOKEN_TTL: '5m', REFRESH_TOKEN_TTL: '7d' })).toMatchObject({ accessTokenTtl: 300, refreshTokenTtl: 604800 });
  });

  it('names the variable and never echoes a secret', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/^Invalid configuration: PORT: expected a whole number from 0 to 65535, got "70000"$/);
    const err = (() => {
      try {
        loadConfig({ KEY_ENCRYPTION_KEY: 'hunter2-secret' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.variable).toBe('KEY_ENCRYPTION_KEY');
    expect(err!.message).not.toContain('hunter2');
  });

  it('accepts http issuers on loopback in production, but no placeholder secrets', () => {
    expect(loadConfig({ NODE_ENV: 'production', ISSUER: 'http://localhost:3000', KEY_ENCRYPTION_KEY: 'q'.repeat(43), DATABASE_URL: 'postgres://db/latchkey' }).issuer).toBe('http://localhost:3000');
    expect(() => loadConfig({ NODE_ENV: 'production', ISSUER: 'https://id.example.com', KEY_ENCRYPTION_KEY: 'q'.repeat(43), ADMIN_EMAIL: 'a@example.com', ADMIN_PASSWORD: 'changeme' })).toThrow(/ADMIN_PASSWORD/);
  });

  it('refuses the embedded database in production unless the operator opts in by name', () => {
    const production = { NODE_ENV: 'production', ISSUER: 'https://id.example.com', KEY_ENCRYPTION_KEY: 'q'.repeat(43) };
    expect(() => loadConfig(production)).toThrow(/^Invalid configuration: DATABASE_URL is required in production .*EMBEDDED_DATABASE_IN_PRODUCTION=true/);
    expect(loadConfig({ ...production, EMBEDDED_DATABASE_IN_PRODUCTION: 'true' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ ...production, DATABASE_URL: 'postgres://db/latchkey' }).databaseUrl).toBe('postgres://db/latchkey');
    expect(loadConfig({ ISSUER: 'https://id.example.com' }).databaseUrl).toBeUndefined();
  });

  it('keeps the console idle timeout within the access-token lifetime (the denylist entries that end console sessions last that long)', () => {
    expect(loadConfig({}).consoleIdleTimeout).toBe(900);
    expect(loadConfig({ ACCESS_TOKEN_TTL: '5m' }).consoleIdleTimeout).toBe(300);
    expect(loadConfig({ ACCESS_TOKEN_TTL: '5m', CONSOLE_IDLE_TIMEOUT: '2m' }).consoleIdleTimeout).toBe(120);
    expect(() => loadConfig({ ACCESS_TOKEN_TTL: '5m', CONSOLE_IDLE_TIMEOUT: '10m' })).toThrow(/^Invalid configuration: CONSOLE_IDLE_TIMEOUT must not exceed ACCESS_TOKEN_TTL \(300 s\)/);
  });

  it('reads the webhook settings: a retry schedule of about a day by default, delays as whole seconds', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ webhookAllowPrivateNetworks: false, webhookTimeoutMs: 5000, webhookSecretGrace: 86400, webhookWorker: true });
    const total = c.webhookRetryDelays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20 * 3600);
    expect(total).toBeLessThan(30 * 3600);
    expect(loadConfig({ WEBHOOK_RETRY_DELAYS: '1, 2,3', WEBHOOK_SECRET_GRACE: '1h', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' })).toMatchObject({ webhookRetryDelays: [1, 2, 3], webhookSecretGrace: 3600, webhookAllowPrivateNetworks: true });
    expect(() => loadConfig({ WEBHOOK_RETRY_DELAYS: '5,soon' })).toThrow(/^Invalid configuration: WEBHOOK_RETRY_DELAYS: expected up to 30 comma-separated whole seconds/);
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '10' })).toThrow(/WEBHOOK_TIMEOUT_MS: expected a whole number from 100 to 60000/);
    expect(() => loadConfig({ WEBHOOK_CONCURRENCY: '4', WEBHOOK_SUBSCRIPTION_CONCURRENCY: '4' })).toThrow(/WEBHOOK_SUBSCRIPTION_CONCURRENCY must be less than WEBHOOK_CONCURRENCY \(4\)/);
  });
});
