import { Controller, Get, Header, Post, Req, Res } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/config.schema.js';
import { randomToken, sha256 } from '../../infra/crypto/secrets.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { HttpErrors } from '../../infra/errors/http.errors.js';
import { Public } from '../../infra/http/credential.decorator.js';
import { ApiHtmlErrors } from '../../infra/http/openapi.js';
import { ClientsService } from '../../tokens/clients/clients.service.js';
import { AuthorizationCodeRepository } from '../../tokens/codes/authorization-code.repository.js';
import type { Session } from '../../tokens/sessions/session.repository.js';
import { PasswordSignIn, SIGN_IN_REFUSED } from '../grants/password-sign-in.port.js';
import { OAuthErrors } from '../oauth.errors.js';
import { type AuthorizationRequest, AuthorizationPageError, AuthorizationRedirectError, checkAuthorizationRequest, parseQuery, rawQuery, redirectBack } from './authorization-request.js';
import { HostedPageSurface } from './hosted-page.filter.js';
import { HostedSignIn } from './hosted-sign-in.js';
import { errorPage, SIGN_IN_CSS, sendHostedPage, signInPage } from './pages.js';

/** RFC 6749 section 4.1.2 recommends at most ten minutes; a code is redeemed within seconds. */
export const CODE_TTL_SECONDS = 60;
const MAX_QUERY = 8192;

const HTML = { 'text/html': { schema: { type: 'string' } } };
/** What the authorization endpoint sends back to a checked redirect URI (RFC 6749 section 4.1.2.1, OpenID Connect Core 3.1.2.6). */
const REDIRECT_ERRORS = [
  OAuthErrors.INVALID_REQUEST,
  OAuthErrors.UNAUTHORIZED_CLIENT,
  OAuthErrors.UNSUPPORTED_RESPONSE_TYPE,
  OAuthErrors.INVALID_SCOPE,
  OAuthErrors.LOGIN_REQUIRED,
  OAuthErrors.REQUEST_NOT_SUPPORTED,
  OAuthErrors.REQUEST_URI_NOT_SUPPORTED,
  OAuthErrors.REGISTRATION_NOT_SUPPORTED,
];

/**
 * RFC 6749 section 4.1 with PKCE (RFC 7636, S256 only) and OpenID Connect: the authorization
 * endpoint and the hosted sign-in page. A browser with a live sign-in session gets its code at once
 * (single sign-on); otherwise the page asks for the email and password, through the same SignIn use
 * case and throttle as every other password check. No consent screen: clients are first-party.
 */
@ApiTags('oauth')
@ApiSecurity({})
@Controller('oauth')
@HostedPageSurface()
@Public()
export class AuthorizeController {
  constructor(
    private readonly clients: ClientsService,
    private readonly hosted: HostedSignIn,
    private readonly codes: AuthorizationCodeRepository,
    private readonly signIn: PasswordSignIn,
    private readonly config: AppConfig,
  ) {}

  @Get('authorize')
  @ApiOperation({
    summary: 'Authorization endpoint (RFC 6749 section 4.1, PKCE S256, OpenID Connect)',
    description:
      'With a live sign-in session (and no `prompt=login`, and a sign-in younger than `max_age`): a redirect to `redirect_uri` with `code`, `state` and `iss`. Otherwise the hosted sign-in page. Errors go to `redirect_uri` (`error`, `error_description`, `state`, `iss`) once the client and the URI are known good, and to an error page otherwise.',
  })
  @ApiQuery({ name: 'response_type', required: true, schema: { type: 'string', enum: ['code'] } })
  @ApiQuery({ name: 'client_id', required: true, schema: { type: 'string' } })
  @ApiQuery({ name: 'redirect_uri', required: true, schema: { type: 'string' }, description: 'One of the client’s redirect URIs, character for character.' })
  @ApiQuery({ name: 'scope', required: false, schema: { type: 'string' }, description: 'Within the client’s scopes; `openid` for an ID token.' })
  @ApiQuery({ name: 'state', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'code_challenge', required: false, schema: { type: 'string' }, description: 'BASE64URL(SHA-256(code_verifier)); required for public clients (and confidential ones unless PKCE_REQUIRED_FOR_CONFIDENTIAL_CLIENTS=false).' })
  @ApiQuery({ name: 'code_challenge_method', required: false, schema: { type: 'string', enum: ['S256'] } })
  @ApiQuery({ name: 'nonce', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'prompt', required: false, schema: { type: 'string', enum: ['none', 'login'] } })
  @ApiQuery({ name: 'max_age', required: false, schema: { type: 'integer', minimum: 0 } })
  @ApiProduces('text/html')
  @ApiResponse({ status: 200, description: 'The hosted sign-in page (HTML).', content: HTML })
  @ApiResponse({ status: 303, description: `Back to \`redirect_uri\` with \`code\`, \`state\` and \`iss\`; or, once the client and the URI are known good, with \`error\` (${REDIRECT_ERRORS.map((e) => `\`${e.oauth}\``).join(', ')}), \`error_description\`, \`state\` and \`iss\`.` })
  @ApiHtmlErrors(OAuthErrors.INVALID_AUTHORIZATION_REQUEST, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE)
  async authorize(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.authorizeRaw(req, reply, rawQuery(req.url));
  }

  private async authorizeRaw(req: FastifyRequest, reply: FastifyReply, raw: string): Promise<void> {
    const request = await this.check(raw, reply);
    if (!request) return;
    const session = await this.hosted.current(req);
    if (session && !this.mustSignIn(request, session)) return this.grant(reply, request, session);
    if (request.prompt.has('none')) return this.sendError(reply, new AuthorizationRedirectError(OAuthErrors.LOGIN_REQUIRED, 'the user is not signed in', request.redirectUri, request.state));
    sendHostedPage(reply, signInPage({ csrf: this.hosted.formToken(req, reply), request: raw, clientName: request.client.name }), { redirectTarget: request.redirectUri });
  }

  @Post('authorize')
  @ApiOperation({ summary: 'The hosted sign-in form, or an authorization request by POST', description: 'Posted by the sign-in page: `email`, `password`, the page’s `_csrf` token and the `authorization_request` it was shown for. A right password starts a sign-in session and redirects as the authorization endpoint does; anything else shows the page again with the same answer for an unknown, a wrong and a locked account. Without `authorization_request`, the form is an authorization request itself (OpenID Connect Core section 3.1.2.1), answered as `GET /oauth/authorize` answers.' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiProduces('text/html')
  @ApiResponse({ status: 303, description: 'Signed in: back to `redirect_uri` with `code`, `state` and `iss`.' })
  @ApiResponse({ status: 400, description: 'The sign-in page again, saying the sign-in failed (HTML).', content: HTML })
  @ApiHtmlErrors(OAuthErrors.SIGN_IN_FORM_REJECTED, OAuthErrors.INVALID_AUTHORIZATION_REQUEST, HttpErrors.INTERNAL, HttpErrors.SERVICE_UNAVAILABLE)
  async submit(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    // OpenID Connect Core section 3.1.2.1: an authorization request may come by form POST too.
    if (body.authorization_request === undefined) return this.authorizeRaw(req, reply, new URLSearchParams(body as Record<string, string>).toString());
    this.hosted.checkForm(req, body);
    const raw = typeof body.authorization_request === 'string' ? body.authorization_request : '';
    const request = await this.check(raw, reply);
    if (!request) return;
    const email = typeof body.email === 'string' ? body.email.slice(0, 320) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const again = (status: number, error: string) =>
      sendHostedPage(reply, signInPage({ csrf: this.hosted.formToken(req, reply), request: raw, clientName: request.client.name, email, error }), { status, redirectTarget: request.redirectUri });
    let userId: string;
    try {
      userId = (await this.signIn.signIn({ username: email, password, ip: req.ip ?? null })).id;
    } catch (err) {
      // A refused sign-in, the throttle, the hashing pool full: the page again, with the condition's status.
      if (!(err instanceof DomainError)) throw err;
      if (err.headers) void reply.headers(err.headers);
      return again(err.status, err.status === 400 ? 'The email or password is incorrect, or the account cannot sign in.' : err.message);
    }
    const userAgent = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 512) : null;
    const session = await this.hosted.start(reply, { userId, ip: req.ip ?? null, userAgent, previous: await this.hosted.current(req) });
    // Locked between the password check and now: the same answer as any refusal.
    if (!session) return again(400, `${SIGN_IN_REFUSED[0].toUpperCase()}${SIGN_IN_REFUSED.slice(1)}.`);
    return this.grant(reply, request, session);
  }

  @Get('assets/sign-in.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  @ApiOperation({ summary: 'The hosted pages’ stylesheet', description: 'The only source of style their CSP allows.' })
  @ApiProduces('text/css')
  @ApiResponse({ status: 200, description: 'The stylesheet.', content: { 'text/css': { schema: { type: 'string' } } } })
  @ApiHtmlErrors(HttpErrors.BAD_REQUEST, HttpErrors.INTERNAL)
  stylesheet(): string {
    return SIGN_IN_CSS;
  }

  /** The request, checked; or null once its error was answered (a page, or a redirect to the client). */
  private async check(raw: string, reply: FastifyReply): Promise<AuthorizationRequest | null> {
    try {
      if (raw.length > MAX_QUERY) throw new AuthorizationPageError('The authorization request is too long.');
      return await checkAuthorizationRequest(parseQuery(raw), (id) => this.clients.findActive(id), { pkceRequiredForConfidential: this.config.pkceRequiredForConfidentialClients });
    } catch (err) {
      if (err instanceof AuthorizationPageError) {
        sendHostedPage(reply, errorPage('This sign-in request cannot be handled', err.message), { status: OAuthErrors.INVALID_AUTHORIZATION_REQUEST.status });
        return null;
      }
      if (err instanceof AuthorizationRedirectError) {
        this.sendError(reply, err);
        return null;
      }
      throw err;
    }
  }

  /** OpenID Connect: `prompt=login` (or `select_account`) and a sign-in older than `max_age` ask for the password again. */
  private mustSignIn(r: AuthorizationRequest, session: Session): boolean {
    if (r.prompt.has('login') || r.prompt.has('select_account')) return true;
    const authTime = session.authTime?.getTime() ?? 0;
    return r.maxAge !== null && Date.now() - authTime > r.maxAge * 1000;
  }

  private sendError(reply: FastifyReply, err: AuthorizationRedirectError): void {
    void reply.code(303).header('location', redirectBack(err.redirectUri, this.config.issuer, { error: err.spec.oauth, error_description: err.message, state: err.state })).send();
  }

  /** A one-time code (stored as its hash), bound to the client, the redirect URI and the challenge. */
  private async grant(reply: FastifyReply, r: AuthorizationRequest, session: Session): Promise<void> {
    const code = randomToken(32);
    await this.codes.store(
      sha256(code),
      { clientId: r.client.clientId, redirectUri: r.redirectUri, codeChallenge: r.codeChallenge, scope: r.scope, nonce: r.nonce, userId: session.userId, signInSessionId: session.id, authTime: session.authTime ?? session.createdAt },
      new Date(Date.now() + CODE_TTL_SECONDS * 1000),
    );
    await this.hosted.touch(session);
    void reply.code(303).header('cache-control', 'no-store').header('location', redirectBack(r.redirectUri, this.config.issuer, { code, state: r.state })).send();
  }
}
