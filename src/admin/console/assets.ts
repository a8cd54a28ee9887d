/**
 * The console's stylesheet and script, served by Latchkey itself from /admin/assets (the CSP allows
 * 'self' only: no inline style or script, no CDN, no web fonts).
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4d5561; --line: #c9d0d9; --bg: #ffffff; --panel: #f4f6f8;
  --accent: #1d4ed8; --danger: #b42318; --ok: #146c2e; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1.5rem; background: #0f172a; color: #f8fafc; }
.top a { color: #f8fafc; }
.brand { font-weight: 700; }
.top nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
.top nav a[aria-current="page"] { text-decoration: underline; text-decoration-thickness: 3px; }
.signout { margin-left: auto; display: flex; align-items: center; gap: .75rem; }
.who { font-size: .9rem; }
main { padding: 1rem 1.5rem 3rem; max-width: 1200px; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 1.75rem 0 .5rem; }
.muted, .empty { color: var(--muted); }
.flash { background: #e7f6ec; border: 1px solid #9bd3ad; padding: .6rem .9rem; border-radius: 6px; }
.error { background: #fdecea; border: 1px solid #f1a9a0; padding: .6rem .9rem; border-radius: 6px; }
.table-wrap { overflow-x: auto; position: relative; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); }
td.wrap, .wrap { overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .92em; overflow-wrap: anywhere; }
form.inline { display: inline; }
form.row-action { display: flex; flex-wrap: wrap; gap: .35rem .5rem; align-items: center; }
form.row-action input[name=reason] { font: inherit; padding: .3rem .4rem; border: 1px solid #6b7280; border-radius: 4px; min-width: 8rem; }
form.row-action .check { margin: 0; }
.field { margin: .5rem 0; display: flex; flex-direction: column; gap: .25rem; max-width: 36rem; }
.field input, .field textarea, .field select { font: inherit; padding: .4rem .5rem; border: 1px solid #6b7280; border-radius: 4px; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; }
.filters .field { min-width: 12rem; }
.check { display: flex; gap: .5rem; align-items: flex-start; margin: .5rem 0; }
button, .button { font: inherit; padding: .45rem .9rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--accent); }
button.danger, .danger > button { background: var(--danger); border-color: var(--danger); color: #fff; }
.top button { background: transparent; border-color: #f8fafc; color: #f8fafc; }
form.action { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: .75rem 0; max-width: 40rem; background: var(--panel); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.state { font-weight: 600; }
.state-delivered, .state-active { color: var(--ok); }
.state-failed, .state-locked { color: var(--danger); }
.state-retrying, .state-pending { color: var(--warn); }
dialog { border: 1px solid var(--line); border-radius: 8px; max-width: min(40rem, 95vw); padding: 1rem 1.25rem; }
dialog::backdrop { background: rgba(15, 23, 42, .5); }
.impact { background: #fff7e6; border: 1px solid #f0c36d; padding: .5rem .9rem; border-radius: 6px; }
.secret { font-size: 1.05rem; background: var(--panel); padding: .5rem; border-radius: 4px; display: inline-block; }
.qr svg { width: 200px; height: 200px; }
ol.codes { columns: 2; font-family: ui-monospace, monospace; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
@media (max-width: 640px) {
  main { padding: .75rem; }
  .top { padding: .75rem; }
  .signout { margin-left: 0; }
  th, td { padding: .35rem .4rem; font-size: .92rem; }
}
`;

export const CONSOLE_JS = `
'use strict';
document.addEventListener('click', function (e) {
  var t = e.target instanceof Element ? e.target.closest('[data-open-dialog], [data-close-dialog], [data-copy]') : null;
  if (!t) return;
  if (t.hasAttribute('data-open-dialog')) {
    var d = document.getElementById(t.getAttribute('data-open-dialog'));
    if (d && d.showModal) { e.preventDefault(); d.showModal(); var f = d.querySelector('textarea, input:not([type=hidden]), button'); if (f) f.focus(); }
  } else if (t.hasAttribute('data-close-dialog')) {
    var c = t.closest('dialog'); if (c) { e.preventDefault(); c.close(); }
  } else if (t.hasAttribute('data-copy')) {
    var src = document.getElementById(t.getAttribute('data-copy'));
    if (src && navigator.clipboard) {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () { t.textContent = 'Copied'; }, function () { t.textContent = 'Copy failed: select the text'; });
    }
  }
});
(function poll() {
  var box = document.querySelector('[data-poll]');
  if (!box) return;
  var url = box.getAttribute('data-poll');
  var timer = setInterval(function () {
    fetch(url, { headers: { accept: 'text/html', 'x-requested-with': 'console' }, credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { clearInterval(timer); return null; }
      return r.text();
    }).then(function (text) {
      if (text === null) return;
      var tmp = document.createElement('div');
      tmp.innerHTML = text;
      var next = tmp.firstElementChild;
      if (!next) return;
      box.replaceChildren.apply(box, Array.prototype.slice.call(next.childNodes));
      if (next.getAttribute('data-settled') === 'true') clearInterval(timer);
    }).catch(function () {});
  }, 1000);
})();
`;
