import { applyDecorators, Header } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ClientCredentials } from '../tokens/clients/clients.service.js';
import { invalidClient, invalidRequest } from './oauth.errors.js';

/**
 * RFC 6749 section 3.2 form parameters: a form-encoded body, each parameter at most once, strings
 * only. Anything else is invalid_request and changes nothing.
 */
export function formParams(req: FastifyRequest): Record<string, string> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw invalidRequest('the request must be application/x-www-form-urlencoded');
  const body = (req.body ?? {}) as Record<string, unknown>;
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw invalidRequest(`the ${name} parameter is repeated`);
    if (typeof value !== 'string') throw invalidRequest(`the ${name} parameter is malformed`);
    if (value !== '') params[name] = value;
  }
  return params;
}

const decodeFormComponent = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
/** A C0 control character or DEL: in no client id or secret Latchkey issues. */
const hasControl = (s: string) => [...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const NOT_BASIC = 'the Authorization header is not valid HTTP Basic client authentication';

/**
 * RFC 6749 section 2.3.1: the client id and secret of an HTTP Basic header, each form-encoded; null
 * when the header is not Basic, `undecodable` when its parts are not form-encoded.
 */
export function basicCredentials(header: string): { clientId: string; clientSecret: string } | 'undecodable' | null {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    return { clientId: decodeFormComponent(decoded.slice(0, colon)), clientSecret: decodeFormComponent(decoded.slice(colon + 1)) };
  } catch {
    return 'undecodable';
  }
}

/** RFC 6749 section 2.3.1: HTTP Basic or body parameters, never both. */
export function clientCredentials(req: FastifyRequest, params: Record<string, string>): ClientCredentials {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const basic = basicCredentials(header);
    if (basic === null) throw invalidClient(NOT_BASIC);
    if (params.client_secret !== undefined) throw invalidRequest('use one client authentication method, not several');
    if (basic === 'undecodable') throw invalidClient('the Basic credentials are not form-encoded');
    const { clientId, clientSecret } = basic;
    // A control character in what Basic decoded to is no client's id or secret: nothing is looked up.
    if (hasControl(clientId) || hasControl(clientSecret)) throw invalidClient(NOT_BASIC);
    if (params.client_id !== undefined && params.client_id !== clientId) throw invalidRequest('client_id does not match the authenticated client');
    return { clientId, clientSecret, method: 'client_secret_basic' };
  }
  if (params.client_secret !== undefined) return { clientId: params.client_id, clientSecret: params.client_secret, method: 'client_secret_post' };
  return { clientId: params.client_id, method: 'none' };
}

/** Every answer of the token, revocation and introspection endpoints is uncacheable (RFC 6749 section 5.1); the OAuth filter says so on errors. */
export const NoStore = () => applyDecorators(Header('cache-control', 'no-store'), Header('pragma', 'no-cache'));
