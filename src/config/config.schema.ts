import { z } from 'zod';
import { bool, delays, duration, int, optionalUrl } from './env-parsers.js';

/** Placeholder values that must never reach production. */
const PLACEHOLDERS = new Set(['changeme', 'change-me', 'secret', 'password', 'example', 'todo', 'xxx']);

const isLoopbackHost = (host: string) => ['localhost', '127.0.0.1', '[::1]', '::1'].includes(host);

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'expected development, production or test' }).default('development'),
    PORT: int(3000, 0, 65535),
    HOST: z.string().min(1).default('0.0.0.0'),
    ISSUER: optionalUrl(['http:', 'https:'], 'http(s)'),
    DATABASE_URL: optionalUrl(['postgres:', 'postgresql:'], 'PostgreSQL'),
    DATABASE_POOL_SIZE: int(10, 1, 200),
    DATA_DIR: z.string().min(1).default('./data'),
    MIGRATIONS_RUN: bool(true),
    REDIS_URL: optionalUrl(['redis:', 'rediss:', 'redis-cluster:', 'rediss-cluster:'], 'Redis'),
    REDIS_CLUSTER_NAT_MAP: z
      .string()
      .regex(/^([^\s,=]+:\d+=[^\s,=]+:\d+)(,[^\s,=]+:\d+=[^\s,=]+:\d+)*$/, 'expected announced=reachable pairs, host:port=host:port, comma-separated')
      .optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'expected 1 to 64 letters, digits, ":", "_" or "-"')
      .default('lk'),
    REDIS_COMMAND_TIMEOUT_MS: int(200, 5, 10000),
    METRICS_PORT: int(0, 1, 65535).transform((v) => v || undefined),
    METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    ACCESS_TOKEN_TTL: duration(900, 30, 86400),
    REFRESH_TOKEN_TTL: duration(30 * 86400, 60, 365 * 86400),
    SESSION_IDLE_TTL: duration(14 * 86400, 60, 365 * 86400),
    ACCESS_TOKEN_AUDIENCE: z.string().min(1).max(200).optional(),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: int(10, 1, 10000),
    LOGIN_MAX_FAILURES_PER_IP: int(100, 1, 1000000),
    LOGIN_THROTTLE_WINDOW: duration(900, 1, 86400),
    ADMIN_EMAIL: z.email({ message: 'expected an email address' }).optional(),
    ADMIN_PASSWORD: z.string().optional(),
    KEY_ENCRYPTION_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}=?$|^[A-Za-z0-9+/]{43}=$/, 'expected 32 random bytes in base64 or base64url (openssl rand -base64 32)')
      .optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'expected fatal, error, warn, info, debug, trace or silent' }).default('info'),
    TRUST_PROXY: bool(false),
    BENCH_SKIP_REVOCATION_CHECK: bool(false),
    EMBEDDED_DATABASE_IN_PRODUCTION: bool(false),
    VERIFIED_TOKEN_CACHE_ENTRIES: int(10000, 0, 1000000),
    PASSWORD_HASH_QUEUE_LIMIT: int(128, 1, 100000),
    HTTP_REQUEST_TIMEOUT_MS: int(30000, 1000, 3600000),
    HTTP_HEADERS_TIMEOUT_MS: int(10000, 1000, 3600000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5000, 1000, 3600000),
    RETENTION_INTERVAL: z
      .string()
      .optional()
      .transform((v) => (v?.toLowerCase() === 'off' ? '0' : v))
      .pipe(duration(3600, 0, 7 * 86400)),
    RETENTION_GRACE: duration(7 * 86400, 60, 365 * 86400),
    RETENTION_BATCH_SIZE: int(1000, 1, 100000),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool(false),
    WEBHOOK_RETRY_DELAYS: delays([5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 36000]),
    WEBHOOK_TIMEOUT_MS: int(5000, 100, 60000),
    WEBHOOK_SECRET_GRACE: duration(86400, 0, 30 * 86400),
    WEBHOOK_DISABLE_AFTER: duration(5 * 86400, 1, 90 * 86400),
    WEBHOOK_WORKER: bool(true),
    WEBHOOK_CONCURRENCY: int(32, 1, 1000),
    WEBHOOK_SUBSCRIPTION_CONCURRENCY: int(4, 1, 100),
    CONSOLE_IDLE_TIMEOUT: duration(15 * 60, 1, 86400),
    CONSOLE_ABSOLUTE_TIMEOUT: duration(8 * 3600, 60, 7 * 86400),
    CONSOLE_MAX_CODE_FAILURES: int(5, 1, 1000),
    REVOCATION_CHECK: z.enum(['mirror', 'redis'], { message: 'expected mirror or redis' }).default('mirror'),
    REVOCATION_LEASE_MS: int(1000, 200, 60000),
    REVOCATION_ACK_TIMEOUT_MS: int(1500, 100, 60000),
    SIGN_IN_IDLE_TIMEOUT: duration(30 * 60, 60, 30 * 86400),
    SIGN_IN_ABSOLUTE_TIMEOUT: duration(10 * 3600, 60, 365 * 86400),
    PKCE_REQUIRED_FOR_CONFIDENTIAL_CLIENTS: bool(true),
  })
  .superRefine((c, ctx) => {
    // The password's strength is the users module's rule: checked at bootstrap (see AdminBootstrapService).
    if (c.ADMIN_EMAIL && !c.ADMIN_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'is required when ADMIN_EMAIL is set' });
    }
    // Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
    if (c.HTTP_HEADERS_TIMEOUT_MS > c.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HTTP_HEADERS_TIMEOUT_MS'], message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${c.HTTP_REQUEST_TIMEOUT_MS})` });
    }
    if (c.METRICS_PORT !== undefined && c.METRICS_PORT === c.PORT) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT (the metrics are never served on the public port)' });
    }
    // A subscriber that hangs holds its slots until the timeout: it must leave some to the others.
    if (c.WEBHOOK_SUBSCRIPTION_CONCURRENCY >= c.WEBHOOK_CONCURRENCY) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SUBSCRIPTION_CONCURRENCY'], message: `must be less than WEBHOOK_CONCURRENCY (${c.WEBHOOK_CONCURRENCY}), so that one stuck subscriber cannot take every delivery slot` });
    }
    // A revoke call must outwait a lapsing lease, so that one instance cut off from Redis turns into a 2xx, not a 503.
    if (c.REVOCATION_ACK_TIMEOUT_MS <= c.REVOCATION_LEASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['REVOCATION_ACK_TIMEOUT_MS'], message: `must be more than REVOCATION_LEASE_MS (${c.REVOCATION_LEASE_MS})` });
    }
    if (c.NODE_ENV !== 'production') return;
    if (c.BENCH_SKIP_REVOCATION_CHECK) {
      ctx.addIssue({ code: 'custom', path: ['BENCH_SKIP_REVOCATION_CHECK'], message: 'is a benchmark setting and is refused in production' });
    }
    if (!c.ISSUER) {
      ctx.addIssue({ code: 'custom', path: ['ISSUER'], message: 'is required in production (the public https URL of this service)' });
    } else {
      const url = new URL(c.ISSUER);
      if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
        ctx.addIssue({ code: 'custom', path: ['ISSUER'], message: 'must be an https URL in production' });
      }
    }
    if (!c.KEY_ENCRYPTION_KEY) {
      ctx.addIssue({ code: 'custom', path: ['KEY_ENCRYPTION_KEY'], message: 'is required in production (32 random bytes, base64)' });
    }
    for (const key of ['ADMIN_PASSWORD', 'KEY_ENCRYPTION_KEY'] as const) {
      if (c[key] && PLACEHOLDERS.has(c[key]!.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is a placeholder value; production needs a real secret' });
      }
    }
    if (!c.DATABASE_URL && !c.EMBEDDED_DATABASE_IN_PRODUCTION) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'is required in production (the embedded PGlite is for development; set EMBEDDED_DATABASE_IN_PRODUCTION=true to run on it anyway)' });
    }
  });

export type RawConfig = z.output<typeof configSchema>;

/** The validated configuration, with derived values. Injected by its class as a token. */
export class AppConfig {
  readonly env!: RawConfig['NODE_ENV'];
  readonly port!: number;
  readonly host!: string;
  readonly issuer!: string;
  /** Unset: the embedded PGlite server under dataDir. */
  readonly databaseUrl?: string;
  readonly databasePoolSize!: number;
  readonly dataDir!: string;
  readonly migrationsRun!: boolean;
  /** Unset: the in-process revocation store (single instance only). */
  readonly redisUrl?: string;
  readonly redisKeyPrefix!: string;
  readonly redisCommandTimeoutMs!: number;
  /** Where `/metrics` is served (its own server); unset: no metrics at all. */
  readonly metricsPort?: number;
  /** The metrics server's address: loopback by default. */
  readonly metricsHost!: string;
  readonly accessTokenTtl!: number;
  /** `aud` of every access token; Latchkey's own APIs require it. Defaults to the issuer. */
  readonly accessTokenAudience!: string;
  readonly loginMaxFailuresPerAccount!: number;
  readonly loginMaxFailuresPerIp!: number;
  readonly loginThrottleWindow!: number;
  readonly refreshTokenTtl!: number;
  readonly sessionIdleTtl!: number;
  readonly adminEmail?: string;
  readonly adminPassword?: string;
  readonly keyEncryptionKey?: string;
  readonly logLevel!: RawConfig['LOG_LEVEL'];
  readonly trustProxy!: boolean;
  /** Benchmarks only (refused in production): measure the guard without its revocation check. */
  readonly benchSkipRevocationCheck!: boolean;
  /** Tokens whose signature is remembered as verified (0: none); about 1 KiB each at most. */
  readonly verifiedTokenCacheEntries!: number;
  /** Password checks waiting for a hashing thread, at most; past it sign-in answers 503 with Retry-After. */
  readonly passwordHashQueueLimit!: number;
  /** A request (headers and body) not received within this is answered 408 and its connection closed. */
  readonly httpRequestTimeoutMs!: number;
  /** The same for the headers alone (at most the request timeout). */
  readonly httpHeadersTimeoutMs!: number;
  /** An idle keep-alive connection is closed after this. */
  readonly httpKeepAliveTimeoutMs!: number;
  /** Seconds between two retention rounds (about; jittered); 0: retention off. */
  readonly retentionInterval!: number;
  /** Seconds a row is kept after it stopped mattering (sessions and refresh tokens: plus the access-token TTL). */
  readonly retentionGrace!: number;
  /** Rows deleted per retention batch (one short transaction each). */
  readonly retentionBatchSize!: number;
  /** Webhooks may go to loopback and private addresses (tests on loopback; internal receivers). */
  readonly webhookAllowPrivateNetworks!: boolean;
  /** Seconds before each retry of a failed delivery; its length is the number of retries. */
  readonly webhookRetryDelays!: number[];
  readonly webhookTimeoutMs!: number;
  /** Seconds a rotated-out secret keeps signing beside the new one. */
  readonly webhookSecretGrace!: number;
  /** Seconds of continuous failure after which a subscription is disabled. */
  readonly webhookDisableAfter!: number;
  /** Whether this process runs the delivery worker (`npm run start:worker` runs it alone). */
  readonly webhookWorker!: boolean;
  /** Deliveries in flight in this process, at most; and per subscription across every worker. */
  readonly webhookConcurrency!: number;
  readonly webhookSubscriptionConcurrency!: number;
  /** Console sessions end after this many seconds without a request, and this many after sign-in whatever happens. */
  readonly consoleIdleTimeout!: number;
  readonly consoleAbsoluteTimeout!: number;
  /** Wrong second-factor codes per staff member per sign-in throttle window before the console refuses more. */
  readonly consoleMaxCodeFailures!: number;
  /** A Redis Cluster behind NAT: the address each node announces → the address to reach it at. */
  readonly redisClusterNatMap?: Record<string, { host: string; port: number }>;
  /** With Redis: `mirror` (the denylist in each instance's memory, fed by Redis) or `redis` (one MGET per request). */
  readonly revocationCheck!: 'mirror' | 'redis';
  /** The mirror's lease on Redis's clock, and how long a revoke call waits for acknowledgements. */
  readonly revocationLeaseMs!: number;
  readonly revocationAckTimeoutMs!: number;
  /** The hosted sign-in page's session (single sign-on) ends after this many seconds unused, and this many after sign-in. */
  readonly signInIdleTimeout!: number;
  readonly signInAbsoluteTimeout!: number;
  /** Whether a confidential client must use PKCE too (a public client always must). */
  readonly pkceRequiredForConfidentialClients!: boolean;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, readonly reason: string) {
    super(`Invalid configuration: ${variable}${reason}`);
  }
}

/** Validates the environment; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  // An empty variable (FOO=) means unset, as docker compose's ${FOO:-} gives it.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    const value = env[variable];
    const message = /^(is|must) /.test(issue.message) ? ` ${issue.message}` : `: ${issue.message}`;
    const shown = value !== undefined && !/PASSWORD|KEY|SECRET/.test(variable) && !message.includes('got') ? ` (got "${value.slice(0, 80)}")` : '';
    throw new ConfigError(variable, `${message}${shown}`);
  }
  const c = result.data;
  // A console session is checked against the denylist like a token, and the panic button's entry there
  // lasts one ACCESS_TOKEN_TTL: a session idle longer than that could outlive the entry that ends it.
  if (present.CONSOLE_IDLE_TIMEOUT !== undefined && c.CONSOLE_IDLE_TIMEOUT > c.ACCESS_TOKEN_TTL) {
    throw new ConfigError('CONSOLE_IDLE_TIMEOUT', ` must not exceed ACCESS_TOKEN_TTL (${c.ACCESS_TOKEN_TTL} s): a revocation's denylist entry lasts that long`);
  }
  return Object.assign(new AppConfig(), {
    env: c.NODE_ENV,
    port: c.PORT,
    host: c.HOST,
    issuer: (c.ISSUER ?? `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
    databaseUrl: c.DATABASE_URL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    dataDir: c.DATA_DIR,
    migrationsRun: c.MIGRATIONS_RUN,
    redisUrl: c.REDIS_URL,
    redisClusterNatMap: c.REDIS_CLUSTER_NAT_MAP
      ? Object.fromEntries(
          c.REDIS_CLUSTER_NAT_MAP.split(',').map((pair) => {
            const [from, to] = pair.split('=');
            const i = to.lastIndexOf(':');
            return [from, { host: to.slice(0, i), port: Number(to.slice(i + 1)) }];
          }),
        )
      : undefined,
    redisKeyPrefix: c.REDIS_KEY_PREFIX,
    redisCommandTimeoutMs: c.REDIS_COMMAND_TIMEOUT_MS,
    metricsPort: c.METRICS_PORT,
    metricsHost: c.METRICS_HOST,
    accessTokenTtl: c.ACCESS_TOKEN_TTL,
    accessTokenAudience: c.ACCESS_TOKEN_AUDIENCE ?? (c.ISSUER ?? `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
    loginMaxFailuresPerAccount: c.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    loginMaxFailuresPerIp: c.LOGIN_MAX_FAILURES_PER_IP,
    loginThrottleWindow: c.LOGIN_THROTTLE_WINDOW,
    refreshTokenTtl: c.REFRESH_TOKEN_TTL,
    sessionIdleTtl: c.SESSION_IDLE_TTL,
    adminEmail: c.ADMIN_EMAIL?.toLowerCase(),
    adminPassword: c.ADMIN_PASSWORD,
    keyEncryptionKey: c.KEY_ENCRYPTION_KEY,
    logLevel: c.LOG_LEVEL,
    trustProxy: c.TRUST_PROXY,
    benchSkipRevocationCheck: c.BENCH_SKIP_REVOCATION_CHECK,
    verifiedTokenCacheEntries: c.VERIFIED_TOKEN_CACHE_ENTRIES,
    passwordHashQueueLimit: c.PASSWORD_HASH_QUEUE_LIMIT,
    httpRequestTimeoutMs: c.HTTP_REQUEST_TIMEOUT_MS,
    httpHeadersTimeoutMs: c.HTTP_HEADERS_TIMEOUT_MS,
    httpKeepAliveTimeoutMs: c.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    retentionInterval: c.RETENTION_INTERVAL,
    retentionGrace: c.RETENTION_GRACE,
    retentionBatchSize: c.RETENTION_BATCH_SIZE,
    webhookAllowPrivateNetworks: c.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    webhookRetryDelays: c.WEBHOOK_RETRY_DELAYS,
    webhookTimeoutMs: c.WEBHOOK_TIMEOUT_MS,
    webhookSecretGrace: c.WEBHOOK_SECRET_GRACE,
    webhookDisableAfter: c.WEBHOOK_DISABLE_AFTER,
    webhookWorker: c.WEBHOOK_WORKER,
    webhookConcurrency: c.WEBHOOK_CONCURRENCY,
    webhookSubscriptionConcurrency: c.WEBHOOK_SUBSCRIPTION_CONCURRENCY,
    consoleIdleTimeout: Math.min(c.CONSOLE_IDLE_TIMEOUT, c.ACCESS_TOKEN_TTL),
    consoleAbsoluteTimeout: c.CONSOLE_ABSOLUTE_TIMEOUT,
    consoleMaxCodeFailures: c.CONSOLE_MAX_CODE_FAILURES,
    revocationCheck: c.REVOCATION_CHECK,
    revocationLeaseMs: c.REVOCATION_LEASE_MS,
    revocationAckTimeoutMs: c.REVOCATION_ACK_TIMEOUT_MS,
    signInIdleTimeout: Math.min(c.SIGN_IN_IDLE_TIMEOUT, c.SIGN_IN_ABSOLUTE_TIMEOUT),
    signInAbsoluteTimeout: c.SIGN_IN_ABSOLUTE_TIMEOUT,
    pkceRequiredForConfidentialClients: c.PKCE_REQUIRED_FOR_CONFIDENTIAL_CLIENTS,
  } satisfies AppConfig);
}
