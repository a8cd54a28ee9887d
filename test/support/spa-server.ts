import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** oidc-client-ts's own browser build (the global `oidc`), as a single-page app would bundle it. */
const OIDC_CLIENT = readFileSync(join(ROOT, 'node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js'), 'utf8');

/**
 * The app's code: sign in with oidc-client-ts (authorization code + PKCE through the hosted page),
 * then call Latchkey's /userinfo from the browser (CORS) and show what came back.
 */
const APP_JS = `
const cfg = window.SPA_CONFIG;
const mgr = new oidc.UserManager({
  authority: cfg.issuer,
  client_id: cfg.clientId,
  redirect_uri: location.origin + '/callback',
  post_logout_redirect_uri: location.origin + '/',
  response_type: 'code',
  scope: 'openid email',
  userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
});
const show = (id, text) => { document.getElementById(id).textContent = text; };
async function start() {
  if (location.pathname === '/callback') {
    try {
      await mgr.signinRedirectCallback();
      history.replaceState(null, '', '/');
    } catch (e) { show('status', 'sign-in failed: ' + e.message); return; }
  }
  const user = await mgr.getUser();
  show('status', user ? 'signed in as ' + user.profile.sub : 'signed out');
}
document.getElementById('login').addEventListener('click', () => mgr.signinRedirect());
document.getElementById('me').addEventListener('click', async () => {
  const user = await mgr.getUser();
  try {
    const r = await fetch(cfg.issuer + '/userinfo', { headers: { authorization: 'Bearer ' + user.access_token } });
    show('userinfo', r.status + ' ' + (await r.text()));
  } catch (e) { show('userinfo', 'network error: ' + e.message); }
});
start();
`;

/** A single-page app on its own loopback origin, a client of Latchkey through oidc-client-ts. */
export class SpaServer {
  private server!: Server;
  url = '';

  /** Read at each page load: the test registers the client once it knows this server's origin. */
  readonly config = { issuer: '', clientId: '' };

  async start(): Promise<this> {
    const page = () => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo SPA</title>
<script>window.SPA_CONFIG = ${JSON.stringify(this.config)};</script>
<script src="/oidc-client-ts.min.js"></script></head>
<body><main><h1>Demo SPA</h1><p id="status">loading</p>
<button id="login">Log in</button> <button id="me">Call userinfo</button>
<pre id="userinfo"></pre></main><script src="/app.js"></script></body></html>`;
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/oidc-client-ts.min.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(OIDC_CLIENT);
      if (path === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(APP_JS);
      if (path === '/' || path === '/callback') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page());
      res.writeHead(404).end();
    });
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}
