import { createHash, randomBytes } from 'node:crypto';
import type { TestApp } from './test-app.js';

/** A PKCE pair (RFC 7636, S256). */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A value of a hidden or text input in a page. */
export function inputValue(page: string, name: string): string | undefined {
  const m = new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(page);
  return m?.[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

export interface PageAnswer {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
}

/**
 * A browser, as far as these endpoints care: a cookie jar (name → value, for one host), redirects
 * not followed, and the Origin a page of Latchkey's own would send on its forms.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly t: TestApp) {}

  async get(path: string): Promise<PageAnswer> {
    return this.send(path, { method: 'GET' });
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<PageAnswer> {
    return this.send(path, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.t.url, ...headers } });
  }

  private async send(path: string, init: { method: string; body?: string; headers?: Record<string, string> }): Promise<PageAnswer> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(path.startsWith('http') ? path : `${this.t.url}${path}`, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (attrs.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a)) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text(), headers: res.headers };
  }
}

export interface AuthorizeParams {
  clientId: string;
  redirectUri: string;
  scope?: string;
  state?: string;
  nonce?: string;
  challenge?: string;
  method?: string;
  prompt?: string;
  extra?: Record<string, string>;
}

export function authorizePath(p: AuthorizeParams): string {
  const q = new URLSearchParams({ response_type: 'code', client_id: p.clientId, redirect_uri: p.redirectUri });
  if (p.scope) q.set('scope', p.scope);
  if (p.state) q.set('state', p.state);
  if (p.nonce) q.set('nonce', p.nonce);
  if (p.challenge) q.set('code_challenge', p.challenge);
  if (p.challenge || p.method) q.set('code_challenge_method', p.method ?? 'S256');
  if (p.prompt) q.set('prompt', p.prompt);
  for (const [k, v] of Object.entries(p.extra ?? {})) q.set(k, v);
  return `/oauth/authorize?${q}`;
}

/** Fills the hosted sign-in page shown by `page` and posts it. */
export function submitSignIn(browser: Browser, page: PageAnswer, user: { email: string; password: string }, headers: Record<string, string> = {}): Promise<PageAnswer> {
  return browser.post(
    '/oauth/authorize',
    { _csrf: inputValue(page.text, '_csrf') ?? '', authorization_request: inputValue(page.text, 'authorization_request') ?? '', email: user.email, password: user.password },
    headers,
  );
}

/** The query of a redirect back to the client. */
export const redirectQuery = (location: string | null) => Object.fromEntries(new URL(location ?? 'about:blank').searchParams);

/** The whole front channel: authorize, sign in if the page asks, and the code from the redirect. */
export async function authorizeCode(browser: Browser, p: AuthorizeParams, user?: { email: string; password: string }): Promise<{ code: string; query: Record<string, string>; signedIn: boolean }> {
  let answer = await browser.get(authorizePath(p));
  let signedIn = false;
  if (answer.status === 200) {
    if (!user) throw new Error('the sign-in page was shown');
    answer = await submitSignIn(browser, answer, user);
    signedIn = true;
  }
  if (answer.status !== 303) throw new Error(`authorize answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const query = redirectQuery(answer.location);
  if (!query.code) throw new Error(`no code: ${answer.location}`);
  return { code: query.code, query, signedIn };
}
