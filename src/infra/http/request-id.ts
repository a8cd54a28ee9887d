import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fastify's request id generator: the caller's `X-Request-Id` when it is a sane token, else a UUID.
 * The id is also put on the raw request so that the request logger and the audit log share it.
 */
export function genRequestId(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  const id = typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
  (raw as { id?: unknown }).id = id;
  return id;
}
