import type { Enrolment } from './staff-second-factor.js';
import { html, trusted, when } from '../../infra/http/html.js';
import { page } from './layout.js';

export function signInPage(csrf: string, o: { error?: string; flash?: string; email?: string } = {}): string {
  return page(
    { title: 'Sign in', error: o.error, flash: o.flash },
    html`<form method="post" action="/admin/login" class="signin">
  <input type="hidden" name="_csrf" value="${csrf}">
  <div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email ?? ''}"></div>
  <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
  <button type="submit">Sign in</button>
</form>
<p class="muted">For staff with the <code>admin</code> or <code>security</code> role. A second step asks for a code from your authenticator app.</p>`,
  );
}

export function codePage(csrf: string, error?: string): string {
  return page(
    { title: 'Two-step verification', error },
    html`<form method="post" action="/admin/login/code">
  <input type="hidden" name="_csrf" value="${csrf}">
  <div class="field"><label for="code">Code from your authenticator app, or a recovery code</label>
  <input id="code" name="code" inputmode="text" autocomplete="one-time-code" required maxlength="20" spellcheck="false"></div>
  <button type="submit">Verify</button>
</form>
<form method="post" action="/admin/logout"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="secondary">Cancel</button></form>`,
  );
}

export function enrolPage(csrf: string, e: Enrolment, error?: string): string {
  return page(
    { title: 'Set up two-step verification', error },
    html`<p>Staff sign in with a password and a code from an authenticator app (TOTP). Scan this code with the app, or type the secret into it, then enter the code it shows.</p>
<div class="grid">
  <figure class="qr panel" role="img" aria-label="QR code of the authenticator secret">${trusted(e.qrSvg)}</figure>
  <div class="panel">
    <p>Secret (base32):</p>
    <p><code class="secret" id="totp-secret">${e.base32}</code></p>
    <button type="button" class="secondary" data-copy="totp-secret">Copy secret</button>
  </div>
</div>
<form method="post" action="/admin/enrol">
  <input type="hidden" name="_csrf" value="${csrf}">
  <div class="field"><label for="code">Code from your authenticator app</label>
  <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6" pattern="[0-9]{6}"></div>
  <button type="submit">Confirm and continue</button>
</form>`,
  );
}

export function recoveryCodesPage(codes: string[]): string {
  return page(
    { title: 'Your recovery codes', flash: 'Two-step verification is on.' },
    html`<p>Each of these codes signs you in once if you lose your authenticator app. They are shown only now: store them somewhere safe.</p>
<ol class="codes" id="recovery-codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<p><button type="button" class="secondary" data-copy="recovery-codes">Copy the codes</button></p>
<p><a class="button" href="/admin/users">Continue to the console</a></p>`,
  );
}

export function errorPage(status: number, title: string, message: string, signedIn: boolean): string {
  return page(
    { title },
    html`<p>${message}</p>
<p class="muted">HTTP ${status}.</p>
${when(signedIn, () => html`<p><a href="/admin/users">Back to the console</a></p>`)}
${when(!signedIn, () => html`<p><a href="/admin/login">Sign in</a></p>`)}`,
  );
}
