import { hostedPageCsp } from './pages.js';
import { signInCookie } from './hosted-sign-in.js';
import { checkAuthorizationRequest, parseQuery, redirectBack } from './authorization-request.js';

describe('the sign-in session cookie', () => {
  it('is __Host- prefixed, Secure and Path=/ under https; Path=/oauth under http', () => {
    expect(signInCookie('https://id.example.com')).toEqual({ name: '__Host-lk_session', path: '/', secure: true });
    expect(signInCookie('http://localhost:3000')).toEqual({ name: 'lk_session', path: '/oauth', secure: false });
  });
});

describe('the hosted pages’ CSP', () => {
  it('allows no script, and lets a form be redirected only to the client’s origin (or a native app’s scheme)', () => {
    expect(hostedPageCsp()).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    expect(hostedPageCsp('https://app.example.com/cb?x=1')).toContain("form-action 'self' https://app.example.com;");
    expect(hostedPageCsp('com.example.app:/oauth2redirect')).toContain("form-action 'self' com.example.app:;");
  });
});

describe('authorization requests', () => {
  const client = { clientId: 'c1', name: 'app', type: 'public', grantTypes: ['authorization_code'], scopes: ['openid'], redirectUris: ['https://app.example.com/cb'] } as never;
  const check = (q: string) => checkAuthorizationRequest(parseQuery(q), async (id) => (id === 'c1' ? client : null), { pkceRequiredForConfidential: true });
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('keeps a repeated parameter as a list, and refuses a repeated client_id or redirect_uri on the error page', async () => {
    expect(parseQuery('a=1&a=2&b=3')).toEqual({ a: ['1', '2'], b: '3' });
    await expect(check('client_id=c1&client_id=c1&redirect_uri=https://app.example.com/cb')).rejects.toThrow(/repeated/);
  });

  it('sends later problems back to the redirect URI with the state', async () => {
    await expect(check(`client_id=c1&redirect_uri=https://app.example.com/cb&response_type=code&state=s&code_challenge=${challenge}&code_challenge_method=S256&prompt=none%20login`)).rejects.toMatchObject({
      spec: { oauth: 'invalid_request' },
      state: 's',
    });
    const ok = await check(`client_id=c1&redirect_uri=https://app.example.com/cb&response_type=code&code_challenge=${challenge}&code_challenge_method=S256&max_age=60`);
    expect(ok).toMatchObject({ scope: 'openid', codeChallenge: challenge, maxAge: 60 });
  });

  it('appends to the redirect URI’s own query, with iss', () => {
    expect(redirectBack('https://app.example.com/cb?tenant=a', 'https://id.example.com', { code: 'x y', state: undefined })).toBe('https://app.example.com/cb?tenant=a&code=x+y&iss=https%3A%2F%2Fid.example.com');
  });
});
