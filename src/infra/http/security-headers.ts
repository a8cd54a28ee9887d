import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How helmet is registered (app.factory.ts). No CSP: the APIs serve JSON, not documents. */
export const HELMET_OPTIONS = { contentSecurityPolicy: false } as const;

type Helmet = (options: object) => (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * The headers helmet sets on every response, for the answers that no Fastify hook sees (a URL the
 * router cannot decode, a request Node cannot parse or that timed out). They are computed once, by
 * running the helmet that @fastify/helmet registers (resolved from that plugin, whose dependency it
 * is) with the same options: every one of them is a constant.
 */
function helmetHeaders(): ReadonlyArray<readonly [string, string]> {
  const plugin = createRequire(import.meta.url).resolve('@fastify/helmet');
  const helmet = createRequire(plugin)('helmet') as Helmet;
  const headers: [string, string][] = [];
  const response = {
    setHeader: (name: string, value: string | number) => void headers.push([name.toLowerCase(), String(value)]),
    removeHeader: () => undefined,
  };
  helmet(HELMET_OPTIONS)({ headers: {} } as IncomingMessage, response as unknown as ServerResponse, (err) => {
    if (err) throw err;
  });
  return headers;
}

export const SECURITY_HEADERS = helmetHeaders();
