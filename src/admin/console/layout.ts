import { type ConsoleCaller } from './console-auth.js';
import { html, type SafeHtml, when } from '../../infra/http/html.js';

export interface PageOptions {
  title: string;
  /** The signed-in staff member; absent on the sign-in pages. */
  caller?: ConsoleCaller;
  /** Which navigation entry is the current page. */
  section?: 'users' | 'audit' | 'webhooks' | 'keys' | 'clients' | 'panic';
  /** A message shown once, announced to screen readers. */
  flash?: string;
  /** An error to show above the content (a refused form). */
  error?: string;
}

const NAV: { id: NonNullable<PageOptions['section']>; href: string; label: string; adminOnly: boolean }[] = [
  { id: 'users', href: '/admin/users', label: 'Users', adminOnly: false },
  { id: 'audit', href: '/admin/audit', label: 'Audit log', adminOnly: false },
  { id: 'webhooks', href: '/admin/webhooks', label: 'Webhooks', adminOnly: true },
  { id: 'keys', href: '/admin/keys', label: 'Signing keys', adminOnly: true },
  { id: 'clients', href: '/admin/clients', label: 'Clients', adminOnly: true },
  { id: 'panic', href: '/admin/panic', label: 'Panic button', adminOnly: true },
];

/** A whole console page: served by Latchkey itself, one stylesheet and one script, both from /admin/assets. */
export function page(o: PageOptions, body: SafeHtml): string {
  const c = o.caller;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Latchkey console</title>
<link rel="stylesheet" href="/admin/assets/console.css">
<script src="/admin/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">Latchkey console</span>
  ${when(
    c,
    () => html`<nav aria-label="Console">
    <ul>${NAV.filter((n) => !n.adminOnly || c!.isAdmin).map((n) => html`<li><a href="${n.href}"${n.id === o.section ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}</ul>
  </nav>
  <form method="post" action="/admin/logout" class="signout">
    <input type="hidden" name="_csrf" value="${c!.session.data.csrf}">
    <span class="who">${c!.user.email} (${c!.user.roles.filter((r) => r === 'admin' || r === 'security').join(', ')})</span>
    <button type="submit">Sign out</button>
  </form>`,
  )}
</header>
<main id="main" tabindex="-1">
<h1>${o.title}</h1>
${when(o.flash, () => html`<p class="flash" role="status">${o.flash}</p>`)}
${when(o.error, () => html`<p class="error" role="alert">${o.error}</p>`)}
${body}
</main>
</body>
</html>
`.value;
}

export interface ActionFormOptions {
  /** Unique on the page: prefixes the fields' ids. */
  id: string;
  action: string;
  csrf: string;
  /** The button's text. */
  button: string;
  /** The checkbox's text: what the staff member confirms. */
  confirm: string;
  danger?: boolean;
  /** A typed confirmation: the staff member types this text exactly. */
  typed?: string;
  /** More fields, before the reason. */
  fields?: SafeHtml;
}

/** A state-changing action: a reason for the audit log, a confirmation, and one button. */
export function actionForm(o: ActionFormOptions): SafeHtml {
  return html`<form method="post" action="${o.action}" class="action${o.danger ? ' danger' : ''}">
  <input type="hidden" name="_csrf" value="${o.csrf}">
  ${o.fields ?? ''}
  <div class="field"><label for="${o.id}-reason">Reason (written to the audit log)</label>
  <textarea id="${o.id}-reason" name="reason" required maxlength="500" rows="2"></textarea></div>
  ${when(
    o.typed,
    () => html`<div class="field"><label for="${o.id}-typed">Type <code>${o.typed}</code> to confirm</label>
  <input id="${o.id}-typed" name="typed" required autocomplete="off" spellcheck="false"></div>`,
  )}
  <div class="check"><input type="checkbox" id="${o.id}-confirm" name="confirm" value="yes" required>
  <label for="${o.id}-confirm">${o.confirm}</label></div>
  <button type="submit" class="${o.danger ? 'danger' : ''}">${o.button}</button>
</form>`;
}

/** A table with a caption (its accessible name) and header cells. */
export function table(caption: string, head: string[], rows: SafeHtml[], empty = 'Nothing here yet.'): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap"><table>
  <caption>${caption}</caption>
  <thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
  <tbody>${rows}</tbody>
</table></div>`;
}

/** A state-changing action inside a table row: the same reason and confirmation, compact. */
export function rowActionForm(o: { id: string; action: string; csrf: string; button: string; what: string }): SafeHtml {
  return html`<form method="post" action="${o.action}" class="row-action">
  <input type="hidden" name="_csrf" value="${o.csrf}">
  <label for="${o.id}-reason" class="visually-hidden">Reason to ${o.what}</label>
  <input id="${o.id}-reason" name="reason" required maxlength="500" placeholder="Reason">
  <span class="check"><input type="checkbox" id="${o.id}-confirm" name="confirm" value="yes" required><label for="${o.id}-confirm">Confirm</label></span>
  <button type="submit" class="secondary" aria-label="${o.button}: ${o.what}">${o.button}</button>
</form>`;
}
