import type { Metric } from 'prom-client';

/** Upper bounds (seconds) of the request-duration histogram: few buckets, so a scrape stays small. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5] as const;

/** The `route` label of a request no route matched (a 404 or 405 of the framework): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** One route and method's counts: plain numbers, so the hot path only adds. */
class RouteStats {
  readonly byStatus = new Map<number, number>();
  /** Per bucket (not cumulative), the last one being +Inf. */
  readonly buckets = new Float64Array(HTTP_DURATION_BUCKETS.length + 1);
  sum = 0;

  add(status: number, seconds: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[i]) i++;
    this.buckets[i]++;
    this.sum += seconds;
  }
}

type Labels = Record<string, string>;
interface Value {
  value: number;
  labels: Labels;
  metricName?: string;
}

/**
 * Requests by route pattern, method and status, and their latency: counted into plain numbers (a
 * map lookup by route, then by method, and an add; no label hashing, no allocation once a series
 * exists), turned into Prometheus series only when scraped. The route is Fastify's pattern
 * (`/admin/api/users/:id`), never the URL, so no id, email or token reaches a label.
 */
export class HttpMetrics {
  private readonly routes = new Map<string, Map<string, RouteStats>>();

  constructor(private readonly prefix: string) {}

  record(route: string | undefined, method: string, status: number, seconds: number): void {
    const key = route ?? UNMATCHED_ROUTE;
    let byMethod = this.routes.get(key);
    if (!byMethod) this.routes.set(key, (byMethod = new Map()));
    let stats = byMethod.get(method);
    if (!stats) byMethod.set(method, (stats = new RouteStats()));
    stats.add(status, seconds);
  }

  /** The two metrics, as objects a prom-client Registry can hold and print. */
  collectors(): Metric[] {
    const requests = {
      name: `${this.prefix}http_requests_total`,
      help: 'HTTP requests answered, by route pattern (unmatched for none), method and status.',
      type: 'counter',
      get: () => {
        const values: Value[] = [];
        for (const [route, byMethod] of this.routes) {
          for (const [method, s] of byMethod) {
            for (const [status, n] of s.byStatus) values.push({ value: n, labels: { method, route, status: String(status) } });
          }
        }
        return { name: requests.name, help: requests.help, type: 'counter', values, aggregator: 'sum' };
      },
    };
    const duration = {
      name: `${this.prefix}http_request_duration_seconds`,
      help: 'Time to answer an HTTP request (Fastify receive to response sent), by route pattern and method.',
      type: 'histogram',
      get: () => {
        const values: Value[] = [];
        for (const [route, byMethod] of this.routes) {
          for (const [method, s] of byMethod) {
            let cumulative = 0;
            for (let i = 0; i < s.buckets.length; i++) {
              cumulative += s.buckets[i];
              const le = i < HTTP_DURATION_BUCKETS.length ? String(HTTP_DURATION_BUCKETS[i]) : '+Inf';
              values.push({ metricName: `${duration.name}_bucket`, value: cumulative, labels: { method, route, le } });
            }
            values.push({ metricName: `${duration.name}_sum`, value: s.sum, labels: { method, route } });
            values.push({ metricName: `${duration.name}_count`, value: cumulative, labels: { method, route } });
          }
        }
        return { name: duration.name, help: duration.help, type: 'histogram', values, aggregator: 'sum' };
      },
    };
    return [requests, duration] as unknown as Metric[];
  }
}
