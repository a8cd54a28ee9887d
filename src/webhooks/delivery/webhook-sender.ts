import type { LookupFunction } from 'node:net';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, request } from 'undici';
import type { Target } from './target.js';

/** What one attempt came to. `status` is null when no answer came (timeout, refused, reset). */
export interface AttemptResult {
  status: number | null;
  durationMs: number;
  error: string | null;
  /** The first 1 KB of the answer's body. */
  excerpt: string;
}

const EXCERPT_BYTES = 1024;
const MAX_AGENTS = 256;

/** A lookup that answers the checked address whatever the name: the connection goes nowhere else. */
const pinned = (t: Target): LookupFunction => (_host, options, callback) => {
  if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: t.address, family: t.family }]);
  else callback(null, t.address, t.family);
};

async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EXCERPT_BYTES) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
}

/**
 * POSTs a signed event over undici with keep-alive, one connection pool per origin and checked
 * address. Redirects are not followed (a 3xx is a failed attempt); the whole attempt, answer body
 * included, is bounded by the timeout.
 */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  private readonly agents = new Map<string, Agent>();

  async post(target: Target, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const res = await request(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Latchkey-Webhooks/1', ...headers },
        body,
        dispatcher: this.agentFor(target, timeoutMs),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const excerpt = await readExcerpt(res.body).catch(() => '');
      return { status: res.statusCode, durationMs: elapsed(), error: null, excerpt };
    } catch (err) {
      const e = err as Error & { code?: string };
      // undici's own header and body timeouts end in TIMEOUT too.
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT$/.test(e.code ?? '');
      return { status: null, durationMs: elapsed(), error: timedOut ? `timed out after ${timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`.slice(0, 500), excerpt: '' };
    }
  }

  private agentFor(target: Target, timeoutMs: number): Agent {
    const key = `${target.url.origin}|${target.address}|${timeoutMs}`;
    let agent = this.agents.get(key);
    if (!agent) {
      if (this.agents.size >= MAX_AGENTS) {
        const [oldestKey, oldest] = this.agents.entries().next().value!;
        this.agents.delete(oldestKey);
        void oldest.close();
      }
      agent = new Agent({ connect: { lookup: pinned(target), timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 4_000 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Last in a shutdown: the worker has let its attempts finish (its onModuleDestroy). */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.destroy()));
    this.agents.clear();
  }
}
