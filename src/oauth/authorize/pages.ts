import type { FastifyReply } from 'fastify';
import { html, type SafeHtml, when } from '../../infra/http/html.js';

/** The hosted pages' stylesheet: served from /oauth/assets/sign-in.css, no inline style (see the CSP). */
export const SIGN_IN_CSS = `:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f5f6f8;--card:#fff;--line:#c9ced6;--accent:#1f5fbf;--err:#a4161a}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--bg:#15171a;--card:#1f2226;--line:#3c4148;--accent:#7fb0ff;--err:#ff8a8a}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:26rem;margin:8vh auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:8px}
h1{font-size:1.4rem;margin:0 0 .25rem}.brand{font-weight:600;letter-spacing:.02em;margin:0 0 1.5rem;color:var(--accent)}
.field{margin:0 0 1rem}label{display:block;font-weight:600;margin:0 0 .25rem}
input{width:100%;padding:.6rem;font:inherit;color:inherit;background:transparent;border:1px solid var(--line);border-radius:4px}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:var(--accent);border:0;border-radius:4px;cursor:pointer}
@media (prefers-color-scheme:dark){button{color:#111}}
.error{color:var(--err);border-left:4px solid var(--err);padding:.25rem .75rem}.muted{opacity:.8;font-size:.9rem}a{color:var(--accent)}`;

/** The hosted pages' Content-Security-Policy: no script at all; forms post here, and may then be redirected to `redirectOrigin`. */
export function hostedPageCsp(redirectTarget?: string): string {
  let formAction = "'self'";
  if (redirectTarget) {
    const url = new URL(redirectTarget);
    // A native app's private-use scheme (RFC 8252) has no origin: its scheme is the source.
    formAction += url.origin === 'null' ? ` ${url.protocol}` : ` ${url.origin}`;
  }
  return ["default-src 'none'", "style-src 'self'", "img-src 'self'", `form-action ${formAction}`, "frame-ancestors 'none'", "base-uri 'none'"].join('; ');
}

function layout(title: string, body: SafeHtml, error?: string): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Latchkey</title>
<link rel="stylesheet" href="/oauth/assets/sign-in.css">
</head>
<body>
<main id="main">
<p class="brand">Latchkey</p>
<h1>${title}</h1>
${when(error, () => html`<p class="error" role="alert">${error}</p>`)}
${body}
</main>
</body>
</html>
`.value;
}

/** Sends a hosted page: never cached, framed by nobody, with the strict CSP. */
export function sendHostedPage(reply: FastifyReply, markup: string, o: { status?: number; redirectTarget?: string } = {}): void {
  void reply
    .code(o.status ?? 200)
    .header('content-security-policy', hostedPageCsp(o.redirectTarget))
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(markup);
}

export function signInPage(o: { csrf: string; request: string; clientName: string; email?: string; error?: string }): string {
  return layout(
    'Sign in',
    html`<p>to continue to <strong>${o.clientName}</strong></p>
<form method="post" action="/oauth/authorize">
  <input type="hidden" name="_csrf" value="${o.csrf}">
  <input type="hidden" name="authorization_request" value="${o.request}">
  <div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email ?? ''}"></div>
  <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
  <button type="submit">Sign in</button>
</form>`,
    o.error,
  );
}

export function errorPage(title: string, message: string): string {
  return layout(title, html`<p>${message}</p><p class="muted">Nothing was sent back to the application. Go back and try again, or contact its administrator.</p>`);
}

export function logoutConfirmPage(o: { csrf: string; request: string; clientName?: string }): string {
  return layout(
    'Sign out',
    html`<p>${o.clientName ? html`<strong>${o.clientName}</strong> asks to sign you out.` : 'Do you want to sign out?'} This ends your Latchkey sign-in on this browser, and the apps you signed in to through it.</p>
<form method="post" action="/oauth/logout">
  <input type="hidden" name="_csrf" value="${o.csrf}">
  <input type="hidden" name="logout_request" value="${o.request}">
  <button type="submit">Sign out</button>
</form>`,
  );
}

export function signedOutPage(): string {
  return layout('Signed out', html`<p>You are signed out. You can close this window.</p>`);
}
