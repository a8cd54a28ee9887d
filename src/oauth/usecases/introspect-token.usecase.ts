import { Injectable } from '@nestjs/common';
import { sha256 } from '../../infra/crypto/secrets.js';
import { RevocationChecker } from '../../revocation/revocation-checker.js';
import { UserRepository } from '../../users/user.repository.js';
import { AccessTokenVerifier } from '../../tokens/access-token.verifier.js';
import type { Client } from '../../tokens/clients/client.js';
import { ClientsService } from '../../tokens/clients/clients.service.js';
import { invalidClient, invalidRequest } from '../oauth.errors.js';
import { SessionRepository } from '../../tokens/sessions/session.repository.js';
import { looksLikeJwt, MAX_REFRESH_TOKEN_LENGTH } from './token-kinds.js';

export interface IntrospectTokenCommand {
  client: Client;
  params: Record<string, string>;
}

type Introspection = Record<string, unknown> & { active: boolean };

const INACTIVE: Introspection = { active: false };

/**
 * RFC 7662 for authenticated confidential clients (resource servers). Revoked, expired,
 * locked-user and revoked-client tokens are `active: false`, with nothing else said.
 */
@Injectable()
export class IntrospectToken {
  constructor(
    private readonly clients: ClientsService,
    private readonly sessions: SessionRepository,
    private readonly verifier: AccessTokenVerifier,
    private readonly revocations: RevocationChecker,
    private readonly users: UserRepository,
  ) {}

  async execute({ client, params }: IntrospectTokenCommand): Promise<Introspection> {
    if (client.type !== 'confidential') throw invalidClient('introspection is for confidential clients');
    const token = params.token;
    if (!token) throw invalidRequest('the token parameter is required');
    const refreshFirst = params.token_type_hint === 'refresh_token' || !looksLikeJwt(token);
    for (const kind of refreshFirst ? ['refresh', 'access'] : ['access', 'refresh']) {
      const answer = kind === 'refresh' ? await this.refreshToken(token, client) : await this.accessToken(token);
      if (answer) return answer;
    }
    return INACTIVE;
  }

  /**
   * The answer for a refresh token, or null when it is not one of ours. A refresh token is its
   * client's alone: to any other client it is `active: false`, with nothing else said.
   */
  private async refreshToken(token: string, caller: Client): Promise<Introspection | null> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return null;
    const found = await this.sessions.findRefreshToken(sha256(token));
    if (!found) return null;
    const { session } = found;
    if (session.clientId !== caller.clientId) return INACTIVE;
    const now = Date.now();
    const owner = await this.clients.findByClientId(session.clientId);
    const live = !found.used && !session.revokedAt && found.expiresAt.getTime() > now && session.expiresAt.getTime() > now && session.idleExpiresAt.getTime() > now;
    if (!live || found.userStatus !== 'active' || owner?.status !== 'active') return INACTIVE;
    // token_type is left out: RFC 7662 takes it from RFC 6749 section 5.1 access-token types.
    return {
      active: true,
      client_id: session.clientId,
      sub: session.userId,
      username: found.userEmail,
      scope: session.scope,
      sid: session.id,
      iat: Math.floor(found.createdAt.getTime() / 1000),
      exp: Math.floor(Math.min(found.expiresAt.getTime(), session.idleExpiresAt.getTime()) / 1000),
    };
  }

  /** The answer for an access token, or null when it does not verify as one of ours. */
  private async accessToken(token: string): Promise<Introspection | null> {
    const verified = await this.verifier.verify(token);
    if (!verified) return null;
    const c = verified.claims;
    const revoked = await this.revocations.check({ jti: c.jti, sid: c.sid, sub: c.sub, clientId: c.client_id, kid: verified.kid, iatMs: c.iat_ms });
    if (revoked) return INACTIVE;
    const owner = await this.clients.findByClientId(c.client_id);
    if (owner?.status !== 'active') return INACTIVE;
    let username: string | undefined;
    if (c.sid) {
      const user = await this.users.findById(c.sub);
      if (!user || user.status !== 'active') return INACTIVE;
      username = user.email;
    }
    return {
      active: true,
      token_type: 'Bearer',
      scope: c.scope,
      client_id: c.client_id,
      ...(username ? { username } : {}),
      sub: c.sub,
      aud: c.aud,
      iss: c.iss,
      iat: c.iat,
      exp: c.exp,
      jti: c.jti,
      ...(c.sid ? { sid: c.sid } : {}),
      roles: c.roles,
    };
  }
}
