import { originProblem, redirectUriProblem } from './client-uris.js';

describe('client redirect URIs and origins', () => {
  it.each([
    'https://app.example.com/callback',
    'https://app.example.com/callback?tenant=a',
    'http://127.0.0.1:8080/cb',
    'http://[::1]/cb',
    'http://localhost:3001/cb',
    'com.example.app:/oauth2redirect',
  ])('accepts %s', (uri) => expect(redirectUriProblem(uri)).toBeNull());

  it.each([
    ['http://app.example.com/callback', 'must be https'],
    ['https://app.example.com/cb#frag', 'fragment'],
    ['https://user:pw@app.example.com/cb', 'user information'],
    ['/relative/callback', 'absolute'],
    ['myapp:/callback', 'private-use'],
    ['javascript:alert(1)', 'private-use'],
    ['https://app.example.com/ cb', 'absolute'],
  ])('refuses %s', (uri, why) => expect(redirectUriProblem(uri)).toContain(why));

  it('refuses private-use schemes where only web URIs fit (back-channel logout)', () => {
    expect(redirectUriProblem('com.example.app:/x', { privateUse: false })).toContain('https');
  });

  it('takes origins exactly as browsers send them', () => {
    expect(originProblem('https://app.example.com')).toBeNull();
    expect(originProblem('http://127.0.0.1:5173')).toBeNull();
    expect(originProblem('https://app.example.com/')).toContain('origin as a browser sends it');
    expect(originProblem('https://app.example.com:443')).toContain('origin as a browser sends it');
    expect(originProblem('http://app.example.com')).toContain('https');
    expect(originProblem('app.example.com')).toContain('origin');
  });
});
