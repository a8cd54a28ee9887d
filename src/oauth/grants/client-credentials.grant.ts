import { Injectable } from '@nestjs/common';
import { AccessTokenIssuer } from '../../tokens/access-token.issuer.js';
import { unauthorizedClient } from '../oauth.errors.js';
import { requireGrant, resolveScope, type TokenRequest, type TokenResponse } from './token-request.js';

/** RFC 6749 section 4.4: a confidential client acting for itself. No refresh token, no session. */
@Injectable()
export class ClientCredentialsGrant {
  constructor(private readonly issuer: AccessTokenIssuer) {}

  async execute({ client, params }: TokenRequest): Promise<TokenResponse> {
    requireGrant(client, 'client_credentials');
    if (client.type !== 'confidential') throw unauthorizedClient('only a confidential client may use client_credentials');
    const scope = resolveScope(params.scope, client.scopes);
    const { accessToken, expiresIn } = await this.issuer.issue({ sub: client.clientId, clientId: client.clientId, scope, roles: [] });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn, scope };
  }
}
