import { Injectable } from '@nestjs/common';
import { constantTimeEqual, randomToken, sha256 } from '../../infra/crypto/secrets.js';
import type { Tx } from '../../infra/database/database.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { invalidClient, TokensErrors } from '../tokens.errors.js';
import { type Client, type ClientType, GRANT_TYPES, type GrantType, SCOPE_TOKEN } from './client.js';
import { ClientRepository } from './client.repository.js';
import { originProblem, redirectUriProblem } from './client-uris.js';

export interface CreateClientInput {
  name: string;
  type: string;
  grantTypes: string[];
  scopes?: string[];
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string | null;
  allowedOrigins?: string[];
}

/** Each URI or origin once, each valid, at most 20 of a kind; the first problem is refused with its reason. */
function uriList(values: string[] | undefined, what: string, problem: (v: string) => string | null): string[] {
  const list = [...new Set(values ?? [])];
  if (list.length > 20) throw new DomainError(TokensErrors.INVALID_CLIENT_URI, `at most 20 ${what}s`);
  for (const v of list) {
    const why = problem(v);
    if (why) throw new DomainError(TokensErrors.INVALID_CLIENT_URI, `the ${what} "${String(v).slice(0, 200)}" ${why}`);
  }
  return list;
}

/** How the caller presented its credentials at the token endpoint. */
export interface ClientCredentials {
  clientId?: string;
  clientSecret?: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/**
 * How long a client's credentials row is reused from memory by the token endpoint. Revoking a client
 * sets its cutoff this far and more into the future (RevocationService), so a token issued from a
 * stale entry on another instance is refused all the same, and its sessions end in the database.
 */
export const CLIENT_CACHE_MS = 5_000;

@Injectable()
export class ClientsService {
  private readonly credentialsCache = new Map<string, { at: number; found: Awaited<ReturnType<ClientRepository['findCredentials']>> }>();

  private readonly originCache = new Map<string, { at: number; allowed: boolean }>();

  constructor(private readonly clients: ClientRepository) {}

  private async credentials(clientId: string) {
    const now = Date.now();
    const cached = this.credentialsCache.get(clientId);
    if (cached && now - cached.at < CLIENT_CACHE_MS) return cached.found;
    const found = await this.clients.findCredentials(clientId);
    if (this.credentialsCache.size >= 10_000) this.credentialsCache.clear();
    // Unknown ids are not remembered: a flood of made-up ids must not evict real clients.
    if (found) this.credentialsCache.set(clientId, { at: now, found });
    return found;
  }

  /** Forget a client's cached credentials on this instance (after revoking it here). */
  forget(clientId: string): void {
    this.credentialsCache.delete(clientId);
  }

  /** Registers a client app; a confidential one gets a secret, returned here once and stored only as a hash. */
  async create(input: CreateClientInput, tx?: Tx): Promise<{ client: Client; clientSecret?: string }> {
    const name = input.name?.trim();
    if (!name || name.length > 200) throw new DomainError(TokensErrors.INVALID_CLIENT_NAME, 'a client name of 1 to 200 characters is required');
    if (input.type !== 'confidential' && input.type !== 'public') throw new DomainError(TokensErrors.INVALID_CLIENT_TYPE, 'the client type must be confidential or public');
    const grants = [...new Set(input.grantTypes)];
    if (!grants.length) throw new DomainError(TokensErrors.INVALID_GRANT_TYPE, `at least one grant is required (${GRANT_TYPES.join(', ')})`);
    for (const g of grants) {
      if (!(GRANT_TYPES as readonly string[]).includes(g)) throw new DomainError(TokensErrors.INVALID_GRANT_TYPE, `unknown grant "${g}" (known: ${GRANT_TYPES.join(', ')})`);
    }
    if (input.type === 'public' && grants.includes('client_credentials')) {
      throw new DomainError(TokensErrors.INVALID_GRANT_TYPE, 'a public client cannot use client_credentials: it has no secret');
    }
    const scopes = [...new Set(input.scopes ?? [])];
    for (const s of scopes) if (!SCOPE_TOKEN.test(s)) throw new DomainError(TokensErrors.INVALID_CLIENT_SCOPE, `"${s}" is not a valid scope token`);
    const redirectUris = uriList(input.redirectUris, 'redirect URI', (u) => redirectUriProblem(u));
    const postLogoutRedirectUris = uriList(input.postLogoutRedirectUris, 'post-logout redirect URI', (u) => redirectUriProblem(u));
    const [backchannelLogoutUri = null] = uriList(input.backchannelLogoutUri ? [input.backchannelLogoutUri] : [], 'back-channel logout URI', (u) => redirectUriProblem(u, { privateUse: false }));
    const allowedOrigins = uriList(input.allowedOrigins, 'allowed origin', originProblem);
    if (grants.includes('authorization_code') && redirectUris.length === 0) {
      throw new DomainError(TokensErrors.INVALID_CLIENT_URI, 'the authorization_code grant needs at least one redirect URI');
    }
    const clientSecret = input.type === 'confidential' ? randomToken(32) : undefined;
    const client = await this.clients.create({
      clientId: randomToken(16),
      name,
      type: input.type as ClientType,
      secretHash: clientSecret ? sha256(clientSecret) : null,
      grantTypes: grants as GrantType[],
      scopes,
      redirectUris,
      postLogoutRedirectUris,
      backchannelLogoutUri,
      allowedOrigins,
    }, tx);
    return { client, clientSecret };
  }

  list(): Promise<Client[]> {
    return this.clients.list();
  }

  findByClientId(clientId: string): Promise<Client | null> {
    return this.clients.findByClientId(clientId);
  }

  /** Whether a browser origin is allowed for any active client, remembered for CLIENT_CACHE_MS (CORS preflights). */
  async originAllowedForAny(origin: string): Promise<boolean> {
    if (origin.length > 300) return false;
    const now = Date.now();
    const cached = this.originCache.get(origin);
    if (cached && now - cached.at < CLIENT_CACHE_MS) return cached.allowed;
    const allowed = await this.clients.anyAllowsOrigin(origin);
    if (this.originCache.size >= 10_000) this.originCache.clear();
    this.originCache.set(origin, { at: now, allowed });
    return allowed;
  }

  /** An active client by its client_id, from the same short-lived memory as `authenticate` (the authorize endpoint, CORS). */
  async findActive(clientId: string): Promise<Client | null> {
    if (!clientId || clientId.length > 200) return null;
    const found = await this.credentials(clientId);
    return found && found.client.status === 'active' ? found.client : null;
  }

  /**
   * RFC 6749 section 2.3: a confidential client proves its secret (constant-time comparison of the
   * hashes); a public client only names itself. Anything else is invalid_client.
   */
  async authenticate(creds: ClientCredentials): Promise<Client> {
    if (!creds.clientId) throw invalidClient('client authentication is required');
    if (creds.clientId.length > 200) throw invalidClient();
    const found = await this.credentials(creds.clientId);
    const expected = found?.secretHash ?? sha256(`no-such-client:${creds.clientId}`);
    if (!found) {
      constantTimeEqual(sha256(creds.clientSecret ?? ''), expected);
      throw invalidClient();
    }
    const { client } = found;
    if (client.type === 'confidential') {
      if (creds.method === 'none' || !creds.clientSecret) throw invalidClient('this client must authenticate with its secret');
      if (!constantTimeEqual(sha256(creds.clientSecret), expected)) throw invalidClient();
    } else if (creds.clientSecret) {
      throw invalidClient('a public client has no secret');
    }
    if (client.status !== 'active') throw invalidClient('the client is revoked');
    return client;
  }
}

