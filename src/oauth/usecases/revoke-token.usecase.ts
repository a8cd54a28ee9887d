import { Injectable } from '@nestjs/common';
import { sha256 } from '../../infra/crypto/secrets.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { AccessTokenVerifier } from '../../tokens/access-token.verifier.js';
import type { Client } from '../../tokens/clients/client.js';
import { invalidRequest, unauthorizedClient } from '../oauth.errors.js';
import { SessionRepository } from '../../tokens/sessions/session.repository.js';
import { looksLikeJwt, MAX_REFRESH_TOKEN_LENGTH } from './token-kinds.js';

export interface RevokeTokenCommand {
  client: Client;
  params: Record<string, string>;
  requestId: string;
}

/**
 * RFC 7009: a refresh token ends its session (the family); an access token is denylisted by jti.
 * A token of another client is refused; an unknown or invalid token is answered 200, as section
 * 2.2 asks. The answer comes after every instance refuses the token.
 */
@Injectable()
export class RevokeToken {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly verifier: AccessTokenVerifier,
    private readonly revocation: RevocationService,
  ) {}

  async execute({ client, params, requestId }: RevokeTokenCommand): Promise<void> {
    const token = params.token;
    if (!token) throw invalidRequest('the token parameter is required');
    const ctx = { actorType: 'client' as const, actorId: client.clientId, reason: 'RFC 7009 revocation request', requestId };
    const hint = params.token_type_hint;
    const accessFirst = hint === 'access_token' || (hint !== 'refresh_token' && looksLikeJwt(token));
    for (const kind of accessFirst ? ['access', 'refresh'] : ['refresh', 'access']) {
      if (kind === 'refresh') {
        if (token.length > MAX_REFRESH_TOKEN_LENGTH) continue;
        const found = await this.sessions.findRefreshToken(sha256(token));
        if (!found) continue;
        if (found.session.clientId !== client.clientId) throw unauthorizedClient('the token was not issued to this client');
        await this.revocation.revokeSession(found.session.id, ctx, 'session.revoked');
        return;
      }
      const verified = await this.verifier.verify(token, { allowExpired: true });
      if (!verified) continue;
      if (verified.claims.client_id !== client.clientId) throw unauthorizedClient('the token was not issued to this client');
      await this.revocation.revokeAccessToken(verified.claims, ctx);
      return;
    }
  }
}
