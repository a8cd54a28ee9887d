import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { AppConfig } from '../../config/config.schema.js';
import { HttpMetrics } from './http-metrics.js';

const PREFIX = 'latchkey_';

/** Why a revocation check refused a token: the denylist entry that matched (a fixed set, never an id). */
export const REFUSAL_KINDS = ['jti', 'sid', 'kid', 'user', 'client', 'global'] as const;
export type RefusalKind = (typeof REFUSAL_KINDS)[number];

/** How a password check ended: success, wrong credentials, throttled (429), shed by the hashing pool (503), the throttle's store down (503), or another error. */
export const LOGIN_RESULTS = ['success', 'failure', 'throttled', 'shed', 'unavailable', 'error'] as const;
export type LoginResult = (typeof LOGIN_RESULTS)[number];

/** Where a PostgreSQL error was seen: a failed query (integrity violations excluded), a connection that could not be had, an error of the pool. */
export const POSTGRES_ERROR_SOURCES = ['query', 'connect', 'pool'] as const;
export type PostgresErrorSource = (typeof POSTGRES_ERROR_SOURCES)[number];

/**
 * The service's Prometheus metrics. Features and infrastructure report into plain numbers (an
 * increment, no label hashing, no allocation), and the prom-client Registry turns them into series
 * when `/metrics` is scraped (METRICS_PORT; off when unset). No label carries personal data: routes
 * are patterns, the other labels come from fixed sets.
 */
@Injectable()
export class Metrics {
  /** True when METRICS_PORT is set: the metrics are served and requests are counted. */
  readonly enabled: boolean;
  readonly registry = new Registry();
  readonly http = new HttpMetrics(PREFIX);

  /** Every count, as plain numbers: what the hot path touches. Read on each scrape. */
  private readonly n = {
    startedMs: Date.now(),
    lastSyncMs: undefined as number | undefined,
    revocationAccepted: 0,
    revocationFailedClosed: 0,
    revocationRefused: { jti: 0, sid: 0, kid: 0, user: 0, client: 0, global: 0 } as Record<RefusalKind, number>,
    denylistRebuilds: 0,
    denylistSyncFailures: 0,
    logins: { success: 0, failure: 0, throttled: 0, shed: 0, unavailable: 0, error: 0 } as Record<LoginResult, number>,
    redisErrors: 0,
    postgresErrors: { query: 0, connect: 0, pool: 0 } as Record<PostgresErrorSource, number>,
    hashQueueDepth: (() => 0) as () => number,
    mirror: null as { entries: () => number; accepting: () => boolean } | null,
  };

  constructor(config: AppConfig) {
    this.enabled = config.metricsPort !== undefined;
    for (const m of this.http.collectors()) this.registry.registerMetric(m);
    const registers = [this.registry];
    /** A counter with no labels, read from this instance's tally on each scrape. */
    const total = (name: string, help: string, read: () => number) =>
      new Counter({
        name: `${PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const n = this.n;
    new Counter({
      name: `${PREFIX}revocation_checks_total`,
      help: 'Revocation checks of access tokens: accepted, refused (kind: the denylist entry that matched), or failed closed (503: the denylist could not be read or this instance is catching up).',
      labelNames: ['result', 'kind'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'accepted' }, n.revocationAccepted);
        for (const kind of REFUSAL_KINDS) this.inc({ result: 'refused', kind }, n.revocationRefused[kind]);
        this.inc({ result: 'failed_closed' }, n.revocationFailedClosed);
      },
    });
    new Gauge({
      name: `${PREFIX}denylist_sync_lag_seconds`,
      help: 'Seconds since the denylist last caught up with PostgreSQL (a sync or a rebuild that succeeded; since start-up before the first). Syncs run once a second.',
      registers,
      collect() {
        this.set((Date.now() - (n.lastSyncMs ?? n.startedMs)) / 1000);
      },
    });
    total('denylist_rebuilds_total', 'Complete rebuilds of the denylist from PostgreSQL (at start-up, and when the store lost its data).', () => n.denylistRebuilds);
    total('denylist_sync_failures_total', 'Denylist syncs (or rebuilds) that failed; until one succeeds, this instance refuses tokens (fails closed).', () => n.denylistSyncFailures);
    new Counter({
      name: `${PREFIX}logins_total`,
      help: 'Password checks (the password grant, POST /me/password) by result: success, failure, throttled (429), shed (503, the hashing queue is full), unavailable (503, the throttle store failed), error.',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        for (const result of LOGIN_RESULTS) this.inc({ result }, n.logins[result]);
      },
    });
    new Gauge({
      name: `${PREFIX}password_hash_queue_depth`,
      help: 'Password checks waiting for a hashing thread (not counting those running).',
      registers,
      collect() {
        this.set(n.hashQueueDepth());
      },
    });
    new Gauge({
      name: `${PREFIX}denylist_mirror_entries`,
      help: 'Revocations held in this instance’s memory (the denylist mirror; 0 without it). Each leaves at its honour_until.',
      registers,
      collect() {
        this.set(n.mirror?.entries() ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}denylist_mirror_accepting`,
      help: '1 while this instance’s denylist mirror is in step with the revocation feed (its lease renewed); 0 while it refuses tokens (503). Without the mirror, 1.',
      registers,
      collect() {
        this.set(n.mirror ? Number(n.mirror.accepting()) : 1);
      },
    });
    total('redis_errors_total', 'Errors the Redis client reported (connection lost or refused, protocol errors).', () => n.redisErrors);
    new Counter({
      name: `${PREFIX}postgres_errors_total`,
      help: 'PostgreSQL errors: query (a failed statement, integrity violations excluded: they are answers such as EMAIL_TAKEN), connect (no connection could be had), pool (an idle connection failed).',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const source of POSTGRES_ERROR_SOURCES) this.inc({ source }, n.postgresErrors[source]);
      },
    });
  }

  /** Counts every request on the application's Fastify instance, by route pattern (when enabled). */
  instrument(fastify: FastifyInstance): void {
    if (!this.enabled) return;
    const http = this.http;
    fastify.addHook('onResponse', (request, reply, done) => {
      http.record(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  /** The denylist mirror's state, read at each scrape. */
  watchMirror(mirror: { entries: () => number; accepting: () => boolean }): void {
    this.n.mirror = mirror;
  }

  revocationCheckAccepted(): void {
    this.n.revocationAccepted++;
  }

  revocationCheckRefused(kind: RefusalKind): void {
    this.n.revocationRefused[kind]++;
  }

  revocationCheckFailedClosed(): void {
    this.n.revocationFailedClosed++;
  }

  denylistSynced(): void {
    this.n.lastSyncMs = Date.now();
  }

  denylistRebuilt(): void {
    this.n.denylistRebuilds++;
    this.n.lastSyncMs = Date.now();
  }

  denylistSyncFailed(): void {
    this.n.denylistSyncFailures++;
  }

  login(result: LoginResult): void {
    this.n.logins[result]++;
  }

  redisError(): void {
    this.n.redisErrors++;
  }

  postgresError(source: PostgresErrorSource): void {
    this.n.postgresErrors[source]++;
  }

  /** The hashing pool says how many checks wait; read on each scrape. */
  watchHashQueue(depth: () => number): void {
    this.n.hashQueueDepth = depth;
  }

  /** The Prometheus text exposition of every series. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
