import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../infra/errors/domain-error.js';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { Public } from '../../infra/http/credential.decorator.js';
import { ApiHtmlErrors } from '../../infra/http/openapi.js';
import { RevocationErrors } from '../../revocation/revocation.errors.js';
import { RevocationService } from '../../revocation/revocation.service.js';
import type { Client } from '../../tokens/clients/client.js';
import { ClientsService } from '../../tokens/clients/clients.service.js';
import { type IdTokenHint, OidcTokens } from '../../tokens/oidc-tokens.js';
import { type Session, SessionRepository } from '../../tokens/sessions/session.repository.js';
import { OAuthErrors } from '../oauth.errors.js';
import { parseQuery, rawQuery, singleValued } from './authorization-request.js';
import { HostedPageSurface } from './hosted-page.filter.js';
import { HostedSignIn } from './hosted-sign-in.js';
import { logoutConfirmPage, sendHostedPage, signedOutPage } from './pages.js';

interface LogoutRequest {
  hint: IdTokenHint | null;
  client: Client | null;
  postLogoutRedirectUri?: string;
  state?: string;
  /** The client session the hint names, if it is still live. */
  hinted: Session | null;
}

const invalid = (message: string) => new DomainError(OAuthErrors.INVALID_LOGOUT_REQUEST, message);

/**
 * OpenID Connect RP-Initiated Logout 1.0. With a valid `id_token_hint` whose session is live, the
 * user is signed out at once; without one (or with a stale one) a confirmation page asks first, so
 * that no other site can sign the user out. Signing out ends the browser's sign-in session and every
 * client session born of it, through RevocationService (so their tokens are refused at once, and
 * their clients' back-channel logout receivers are told). The user goes back only to a
 * `post_logout_redirect_uri` registered for the client, with `state`; anywhere else is refused.
 */
@ApiTags('oauth')
@ApiSecurity({})
@Controller('oauth')
@HostedPageSurface()
@Public()
export class LogoutController {
  constructor(
    private readonly clients: ClientsService,
    private readonly hosted: HostedSignIn,
    private readonly oidc: OidcTokens,
    private readonly sessions: SessionRepository,
    private readonly revocation: RevocationService,
  ) {}

  @Get('logout')
  @ApiOperation({ summary: 'End-session endpoint (OpenID Connect RP-Initiated Logout 1.0)', description: 'Signs the user out of the browser’s sign-in session and the apps signed in through it, then redirects to `post_logout_redirect_uri` (registered for the client) with `state`. Without a valid, live `id_token_hint`, a confirmation page first.' })
  @ApiQuery({ name: 'id_token_hint', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'client_id', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'post_logout_redirect_uri', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'state', required: false, schema: { type: 'string' } })
  @ApiProduces('text/html')
  @ApiResponse({ status: 200, description: 'The confirmation page, or the signed-out page (HTML).', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiResponse({ status: 303, description: 'Signed out: to `post_logout_redirect_uri` with `state`.' })
  @ApiHtmlErrors(OAuthErrors.INVALID_LOGOUT_REQUEST, RevocationErrors.REVOCATION_NOT_PROPAGATED, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE)
  async logout(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.handle(req, reply, rawQuery(req.url));
  }

  @Post('logout')
  @ApiOperation({ summary: 'End-session endpoint, by form POST', description: 'The same parameters as `GET /oauth/logout`, form-encoded; also the confirmation page’s own form (`_csrf`).' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiProduces('text/html')
  @ApiResponse({ status: 303, description: 'Signed out: to `post_logout_redirect_uri` with `state`.' })
  @ApiHtmlErrors(OAuthErrors.INVALID_LOGOUT_REQUEST, OAuthErrors.SIGN_IN_FORM_REJECTED, RevocationErrors.REVOCATION_NOT_PROPAGATED, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE)
  async logoutByPost(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.logout_request !== 'string') return this.handle(req, reply, new URLSearchParams(body as Record<string, string>).toString());
    // The confirmation page's own form: the user said yes.
    this.hosted.checkForm(req, body);
    const request = await this.check(body.logout_request);
    await this.signOut(req, reply, request, true);
  }

  private async handle(req: FastifyRequest, reply: FastifyReply, raw: string): Promise<void> {
    const request = await this.check(raw);
    if (request.hinted) return this.signOut(req, reply, request, false);
    const markup = logoutConfirmPage({ csrf: this.hosted.formToken(req, reply), request: raw, clientName: request.client?.name });
    sendHostedPage(reply, markup, { redirectTarget: request.postLogoutRedirectUri });
  }

  private async check(raw: string): Promise<LogoutRequest> {
    if (raw.length > 16384) throw invalid('The logout request is too long.');
    const { params, repeated } = singleValued(parseQuery(raw));
    if (repeated.length) throw invalid(`The ${repeated[0]} parameter is repeated.`);
    const hint = params.id_token_hint ? this.oidc.verifyHint(params.id_token_hint) : null;
    if (hint && params.client_id && hint.aud !== params.client_id) throw invalid('The client_id does not match the id_token_hint.');
    const clientId = hint?.aud ?? params.client_id;
    const client = clientId ? await this.clients.findActive(clientId) : null;
    const uri = params.post_logout_redirect_uri;
    if (uri !== undefined && !client?.postLogoutRedirectUris.includes(uri)) {
      throw invalid('The post_logout_redirect_uri is not registered for this client (or the request names no client), so you were not sent anywhere.');
    }
    let hinted: Session | null = null;
    if (hint?.sid) {
      const s = await this.sessions.find(hint.sid);
      if (s && !s.revokedAt && s.userId === hint.sub && s.clientId === hint.aud && s.expiresAt.getTime() > Date.now()) hinted = s;
    }
    return { hint, client, postLogoutRedirectUri: uri, state: params.state, hinted };
  }

  /**
   * Ends the hinted session's sign-in session (and so every app of it), and the browser's own: always
   * when the user confirmed on the page, and otherwise only when it is the hint's user's (an app may
   * sign out its own user, not whoever else is signed in on this browser).
   */
  private async signOut(req: FastifyRequest, reply: FastifyReply, r: LogoutRequest, confirmed: boolean): Promise<void> {
    const browser = await this.hosted.current(req);
    const ends = new Set<string>();
    const endsBrowser = browser !== null && (confirmed || !r.hint || browser.userId === r.hint.sub);
    if (endsBrowser) ends.add(browser.id);
    if (r.hinted) ends.add(r.hinted.parentId ?? r.hinted.id);
    for (const sid of ends) {
      const userId = sid === browser?.id ? browser.userId : r.hinted!.userId;
      await this.revocation.revokeSession(sid, { actorType: 'user', actorId: userId, reason: 'signed out (RP-initiated logout)', requestId: String(req.id) }, 'session.logout');
    }
    if (endsBrowser || !browser) this.hosted.clear(reply);
    if (!r.postLogoutRedirectUri) return sendHostedPage(reply, signedOutPage());
    const to = new URL(r.postLogoutRedirectUri);
    if (r.state !== undefined) to.searchParams.append('state', r.state);
    void reply.code(303).header('cache-control', 'no-store').header('location', to.toString()).send();
  }
}
