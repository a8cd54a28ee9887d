import type { FastifyRequest } from 'fastify';

/**
 * Whether a form post came from one of this service's own pages: its `Origin` is the issuer's (the
 * public URL, as a browser behind a proxy sees it) or this host's own as the request names it (direct
 * access on another name, such as 127.0.0.1 for localhost), and a browser that sends
 * `Sec-Fetch-Site` says `same-origin`.
 */
export function fromOwnPage(req: FastifyRequest, issuerOrigin: string): boolean {
  const origin = req.headers.origin;
  const own = `${req.protocol}://${req.headers.host ?? ''}`;
  const site = req.headers['sec-fetch-site'];
  return Boolean(origin) && (origin === issuerOrigin || origin === own) && (site === undefined || site === 'same-origin');
}
