import type { AppConfig } from '../../config/config.schema.js';
import type { Client } from '../../tokens/clients/client.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { invalidRequest, unauthorizedClient, OAuthErrors } from '../oauth.errors.js';

/** A validated token request: single-valued string parameters only. */
export interface TokenRequest {
  params: Record<string, string>;
  client: Client;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
  /** OpenID Connect: with the `openid` scope, from the authorization code grant. */
  id_token?: string;
}

/**
 * RFC 6749 section 3.3: the requested scope must be within what the client (or, on refresh, the
 * session) was granted; no scope means all of it.
 */
export function resolveScope(requested: string | undefined, allowed: string[]): string {
  if (requested === undefined) return allowed.join(' ');
  const tokens = requested.split(' ').filter(Boolean);
  if (requested.length > 2000 || tokens.some((t) => !allowed.includes(t))) {
    throw new DomainError(OAuthErrors.INVALID_SCOPE, 'the requested scope is invalid, unknown, or exceeds what was granted');
  }
  return [...new Set(tokens)].join(' ');
}

export function requireGrant(client: Client, grant: Client['grantTypes'][number]): void {
  if (!client.grantTypes.includes(grant)) throw unauthorizedClient(`this client may not use the ${grant} grant`);
}

export function requireParam(params: Record<string, string>, name: string): string {
  const v = params[name];
  if (!v) throw invalidRequest(`the ${name} parameter is required`);
  return v;
}

/** A new login session's absolute end (REFRESH_TOKEN_TTL) and idle end (SESSION_IDLE_TTL, never past the absolute one). */
export function sessionWindow(config: AppConfig, now = Date.now()): { expiresAt: Date; idleExpiresAt: Date } {
  const expiresAt = new Date(now + config.refreshTokenTtl * 1000);
  return { expiresAt, idleExpiresAt: new Date(Math.min(now + config.sessionIdleTtl * 1000, expiresAt.getTime())) };
}
