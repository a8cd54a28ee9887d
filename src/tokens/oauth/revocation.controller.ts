import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../auth/public.decorator.js';
import { sha256 } from '../../infra/crypto/secrets.js';
import { RevocationChecker } from '../../revocation/revocation-checker.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import { UserRepository } from '../../users/user.repository.js';
import { AccessTokenVerifier } from '../access-token.verifier.js';
import type { Client } from '../clients/client.js';
import { ClientsService } from '../clients/clients.service.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { OAuthError, invalidClient, invalidRequest } from './oauth.error.js';
import { clientCredentials, formParams } from './token.controller.js';

const looksLikeJwt = (t: string) => t.split('.').length === 3;

/** RFC 7009 token revocation and RFC 7662 token introspection. */
@Controller('oauth')
export class RevocationController {
  constructor(
    private readonly clients: ClientsService,
    private readonly sessions: SessionRepository,
    private readonly verifier: AccessTokenVerifier,
    private readonly revocation: RevocationService,
    private readonly revocations: RevocationChecker,
    private readonly users: UserRepository,
  ) {}

  private async caller(req: FastifyRequest, reply: FastifyReply): Promise<{ client: Client; params: Record<string, string> }> {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = formParams(req);
    const client = await this.clients.authenticate(clientCredentials(req, params));
    return { client, params };
  }

  /**
   * RFC 7009: a refresh token ends its session (the family); an access token is denylisted by jti.
   * A token of another client is refused; an unknown or invalid token is answered 200, as section
   * 2.2 asks. The answer comes after every instance refuses the token.
   */
  @Public()
  @Post('revoke')
  @HttpCode(200)
  async revoke(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<Record<string, never>> {
    const { client, params } = await this.caller(req, reply);
    const token = params.token;
    if (!token) throw invalidRequest('the token parameter is required');
    const ctx = { actorType: 'client' as const, actorId: client.clientId, reason: 'RFC 7009 revocation request', requestId: String(req.id) };
    const order = params.token_type_hint === 'access_token' || (params.token_type_hint !== 'refresh_token' && looksLikeJwt(token)) ? ['access', 'refresh'] : ['refresh', 'access'];
    for (const kind of order) {
      if (kind === 'refresh') {
        if (token.length > 512) continue;
        const found = await this.sessions.findRefreshToken(sha256(token));
        if (!found) continue;
        if (found.session.clientId !== client.clientId) throw new OAuthError('unauthorized_client', 'the token was not issued to this client');
        await this.revocation.revokeSession(found.session.id, ctx, 'session.revoked');
        return {};
      }
      const verified = await this.verifier.verify(token, { allowExpired: true });
      if (!verified) continue;
      if (verified.claims.client_id !== client.clientId) throw new OAuthError('unauthorized_client', 'the token was not issued to this client');
      await this.revocation.revokeAccessToken(verified.claims, ctx);
      return {};
    }
    return {};
  }

  /**
   * RFC 7662 for authenticated confidential clients (resource servers). Revoked, expired,
   * locked-user and revoked-client tokens are `active: false`, with nothing else said.
   */
  @Public()
  @Post('introspect')
  @HttpCode(200)
  async introspect(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<Record<string, unknown>> {
    const { client, params } = await this.caller(req, reply);
    if (client.type !== 'confidential') throw invalidClient('introspection is for confidential clients');
    const token = params.token;
    if (!token) throw invalidRequest('the token parameter is required');
    const inactive = { active: false };
    const order = params.token_type_hint === 'refresh_token' || !looksLikeJwt(token) ? ['refresh', 'access'] : ['access', 'refresh'];
    for (const kind of order) {
      if (kind === 'refresh') {
        if (token.length > 512) continue;
        const found = await this.sessions.findRefreshToken(sha256(token));
        if (!found) continue;
        const { session } = found;
        const now = Date.now();
        const owner = await this.clients.findByClientId(session.clientId);
        const live =
          !found.used && !session.revokedAt && found.expiresAt.getTime() > now && session.expiresAt.getTime() > now && session.idleExpiresAt.getTime() > now;
        if (!live || found.userStatus !== 'active' || owner?.status !== 'active') return inactive;
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
      const verified = await this.verifier.verify(token);
      if (!verified) continue;
      const c = verified.claims;
      const revoked = await this.revocations.check({ jti: c.jti, sid: c.sid, sub: c.sub, clientId: c.client_id, kid: verified.kid, iatMs: c.iat_ms });
      if (revoked) return inactive;
      const owner = await this.clients.findByClientId(c.client_id);
      if (owner?.status !== 'active') return inactive;
      let username: string | undefined;
      if (c.sid) {
        const user = await this.users.findById(c.sub);
        if (!user || user.status !== 'active') return inactive;
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
    return inactive;
  }
}
