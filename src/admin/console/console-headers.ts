import type { FastifyInstance } from 'fastify';

/**
 * The console's Content-Security-Policy: its own script and stylesheet only, no inline script or
 * style, no eval, no framing, forms posted only to itself; images from itself (the QR code is inline SVG).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Under /admin, but not the JSON admin API. */
export const isConsolePath = (url: string) => (url === '/admin' || url.startsWith('/admin/') || url.startsWith('/admin?')) && !url.startsWith('/admin/api');

/**
 * Every answer under /admin (but the JSON API): the CSP above, and `Referrer-Policy: same-origin`
 * instead of helmet's `no-referrer`, with which Chromium sends `Origin: null` on the console's own
 * form posts (the CSRF check requires this host's origin).
 */
export function applyConsoleHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (isConsolePath(request.url)) {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('referrer-policy', 'same-origin');
      reply.header('x-frame-options', 'DENY');
    }
    done(null, payload);
  });
}
