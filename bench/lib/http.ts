import { Agent, request } from 'node:http';

/** One answer, timed from the moment the request is handed to node:http until its body has arrived. */
export interface TimedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Milliseconds, to the microsecond. */
  ms: number;
}

export interface TimedRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Default 10 s: a request that takes longer fails with an error (nothing waits forever). */
  timeoutMs?: number;
}

/**
 * A keep-alive HTTP/1.1 client for one server, for the sequential probes of the scenarios that time
 * single calls (autocannon measures throughput; this measures one call at a time). node:http with a
 * keep-alive agent costs far less per call than global fetch, so the latency it reports is the
 * server's plus one loopback round trip.
 */
export class HttpProbe {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly baseUrl: string) {}

  send(r: TimedRequest): Promise<TimedResponse> {
    const url = new URL(r.path, this.baseUrl);
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const headers: Record<string, string | number> = { ...(r.headers ?? {}) };
    if (body) headers['content-length'] = body.length;
    return new Promise((done, fail) => {
      const t0 = process.hrtime.bigint();
      const req = request(
        { agent: this.agent, host: url.hostname, port: url.port, method: r.method ?? 'GET', path: url.pathname + url.search, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms });
          });
        },
      );
      req.setTimeout(r.timeoutMs ?? 10_000, () => req.destroy(new Error(`${r.method ?? 'GET'} ${r.path} took longer than ${r.timeoutMs ?? 10_000} ms`)));
      req.on('error', fail);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The payload of a JWT, not verified (the bench reads `sid`, `jti` and `exp` of its own tokens). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** One keep-alive probe to a server for a few sequential calls, closed after `use` whatever happens. */
export async function withProbe<T>(url: string, use: (probe: HttpProbe) => Promise<T>): Promise<T> {
  const probe = new HttpProbe(url);
  try {
    return await use(probe);
  } finally {
    probe.close();
  }
}
