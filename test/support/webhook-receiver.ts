import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request as the receiver saw it, verified with the `standardwebhooks` package against each secret it holds. */
export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  raw: string;
  /** A webhook's JSON event; a back-channel logout's form (`logout_token`). */
  body: { type: string; timestamp: string; data: Record<string, any>; logout_token?: string };
  /** Per secret held (in order): did the request verify with it? */
  verified: boolean[];
  /** What the receiver answered (null: it hung). */
  answered: number | null;
}

/** What the receiver does with the next request: answer a status, or hang (never answer). */
export type Behaviour = number | 'hang';

/**
 * A subscriber on a loopback port: it verifies every request with the Standard Webhooks library,
 * answers each with the next scripted behaviour (then `fallback`), and records all of it.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  secrets: string[] = [];
  script: Behaviour[] = [];
  fallback: Behaviour = 204;
  /** How long it takes to answer (a slow receiver). */
  delayMs = 0;
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const verified = this.secrets.map((s) => {
          try {
            new Webhook(s).verify(raw, req.headers as Record<string, string>);
            return true;
          } catch {
            return false;
          }
        });
        const next = this.script.length ? this.script.shift()! : this.fallback;
        const form = String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded');
        const body = form ? Object.fromEntries(new URLSearchParams(raw)) : JSON.parse(raw);
        this.received.push({ at: Date.now(), headers: req.headers, raw, body, verified, answered: next === 'hang' ? null : next });
        if (next === 'hang') {
          this.hanging.add(res);
          return;
        }
        const answer = () => res.writeHead(next, { 'content-type': 'text/plain' }).end(next >= 400 ? 'receiver says no' : 'ok');
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((done) => this.server.listen(port, '127.0.0.1', done));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Requests of this event type. */
  of(type: string): Received[] {
    return this.received.filter((r) => r.body.type === type);
  }

  /** Waits until `count` requests satisfy `match` (default: any), or fails after `ms`. */
  async waitFor(match: (r: Received) => boolean = () => true, count = 1, ms = 10_000): Promise<Received[]> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.received.filter(match);
      if (found.length >= count) return found;
      if (Date.now() > until) throw new Error(`receiver: expected ${count} matching request(s) within ${ms} ms, saw ${found.length} (of ${this.received.length}: ${this.received.map((r) => r.body.type).join(', ')})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

/** Polls `probe` until it answers a truthy value, or fails after `ms`. */
export async function eventually<T>(probe: () => Promise<T | null | undefined | false>, ms = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
