import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { MAX_TOKEN_BYTES } from '../../src/auth/jwt.strategy.js';
import { authGet, createClient, createUser, login } from '../support/fixtures.js';
import { accessTokenClaims, b64url, type Claims, decodeSegment, type ForgeChange, forgeToken, type Header, headerOf, serverSigningKey } from '../support/jwt.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Every forged or bad access token to GET /userinfo is refused with RFC 6750 section 3.1
 * `invalid_token`. The forged tokens made with the server's real key differ from an accepted
 * control token in one thing each, so each refusal is for the one thing changed.
 */

async function userinfo(t: TestApp, token: string) {
  return authGet(t, '/userinfo', token);
}

function expectInvalidToken(res: { status: number; headers: Headers; body: any }) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 401, body: { status: 401, code: 'INVALID_TOKEN' } });
  const challenge = res.headers.get('www-authenticate') ?? '';
  expect(challenge).toMatch(/^Bearer /);
  expect(challenge).toContain('error="invalid_token"');
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

describe('forged and bad access tokens on GET /userinfo', () => {
  let t: TestApp;
  let user: { id: string; email: string; password: string };
  let clientId: string;
  let realToken: string;
  let sid: string;
  let serverKey: { kid: string; privateKey: KeyObject };
  let publicJwk: Record<string, any>;

  beforeAll(async () => {
    t = await startTestApp();
    user = await createUser(t.app);
    const client = await createClient(t.app);
    clientId = client.clientId;
    realToken = (await login(t, client, user)).access_token;
    sid = decodeJwt(realToken).sid as string;
    serverKey = serverSigningKey(t);
    const jwks: any = await (await fetch(`${t.url}/.well-known/jwks.json`)).json();
    publicJwk = jwks.keys.find((k: { kid: string }) => k.kid === serverKey.kid);
  });
  afterAll(() => t?.close());

  /** The claims of a valid token, as the server issues them. */
  const validClaims = (): Claims => accessTokenClaims(t, { sub: user.id, clientId, sid, scope: 'read write' });

  /** A token signed with the server's own active key (or `change.key`), with the given changes to header and claims. */
  const forge = (change: ForgeChange = {}): Promise<string> => forgeToken(serverKey, validClaims(), change);

  describe('controls', () => {
    it('accepts a real token from a login', async () => {
      const res = await userinfo(t, realToken);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ sub: user.id, email: user.email });
    });

    it('accepts a token forged with the real key and every claim right', async () => {
      const res = await userinfo(t, await forge());
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ sub: user.id, email: user.email });
    });

    it('sees the JWKS key it forges with', () => {
      expect(publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: serverKey.kid });
      expect(createPublicKey(serverKey.privateKey).export({ format: 'jwk' })).toMatchObject({ x: publicJwk.x, y: publicJwk.y });
    });
  });

  describe('no token', () => {
    it('answers 401 with a bare Bearer challenge and no error code (RFC 6750 section 3.1)', async () => {
      const res = await fetch(`${t.url}/userinfo`);
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="[^"]*"$/);
      expect(challenge).not.toContain('error=');
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ status: 401, code: 'TOKEN_REQUIRED' });
    });

    it('treats another authentication scheme as no token', async () => {
      const res = await fetch(`${t.url}/userinfo`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="[^"]*"$/);
      expect(challenge).not.toContain('error=');
    });
  });

  describe('unsigned tokens (alg none)', () => {
    it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s with an empty signature', async (alg) => {
      const token = `${b64url({ alg, typ: 'at+jwt', kid: serverKey.kid })}.${b64url(validClaims())}.`;
      expectInvalidToken(await userinfo(t, token));
    });

    it('refuses alg none with no signature segment at all', async () => {
      const token = `${b64url({ alg: 'none', typ: 'at+jwt', kid: serverKey.kid })}.${b64url(validClaims())}`;
      expectInvalidToken(await userinfo(t, token));
    });

    it('refuses a real token with its header switched to alg none and its signature kept or dropped', async () => {
      const [, payload, signature] = realToken.split('.');
      const header = b64url({ alg: 'none', typ: 'at+jwt', kid: serverKey.kid });
      expectInvalidToken(await userinfo(t, `${header}.${payload}.${signature}`));
      expectInvalidToken(await userinfo(t, `${header}.${payload}.`));
    });
  });

  describe('HS256 signed with the public key (algorithm confusion)', () => {
    const secrets: [string, () => Promise<Uint8Array>][] = [
      ['the SPKI PEM', async () => new TextEncoder().encode(createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' }) as string)],
      ['the SPKI PEM without its trailing newline', async () => new TextEncoder().encode((createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' }) as string).trim())],
      ['the SPKI DER', async () => new Uint8Array(createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ format: 'der', type: 'spki' }))],
      ['the JWK JSON as the JWKS serves it', async () => new TextEncoder().encode(JSON.stringify(publicJwk))],
      ['the bare JWK JSON (crv, kty, x, y)', async () => new TextEncoder().encode(JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y }))],
    ];

    it.each(secrets)('refuses a token whose HMAC secret is %s', async (_name, secret) => {
      const key = await secret();
      for (const typ of ['at+jwt', 'JWT']) {
        expectInvalidToken(await userinfo(t, await forge({ header: { alg: 'HS256', typ }, key })));
      }
    });
  });

  describe('tokens signed with a key that is not the server key', () => {
    let attacker: { privateKey: KeyObject; publicJwk: Record<string, unknown> };
    beforeAll(() => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      attacker = { privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown> };
    });

    it('refuses an unknown kid', async () => {
      expectInvalidToken(await userinfo(t, await forge({ header: { kid: `unknown-${randomUUID()}` }, key: attacker.privateKey })));
    });

    it('refuses a token without a kid', async () => {
      const token = await new SignJWT(validClaims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(attacker.privateKey);
      expectInvalidToken(await userinfo(t, token));
    });

    it("refuses the server's kid on a token signed with another key", async () => {
      expectInvalidToken(await userinfo(t, await forge({ key: attacker.privateKey })));
    });

    it('refuses a key embedded in the header (jwk), with or without the real kid', async () => {
      const withJwk = await new SignJWT(validClaims()).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: attacker.publicJwk }).sign(attacker.privateKey);
      expectInvalidToken(await userinfo(t, withJwk));
      expectInvalidToken(await userinfo(t, await forge({ header: { jwk: attacker.publicJwk }, key: attacker.privateKey })));
    });

    it('refuses a key URL in the header (jku)', async () => {
      expectInvalidToken(await userinfo(t, await forge({ header: { jku: 'http://127.0.0.1:1/jwks.json' }, key: attacker.privateKey })));
    });
  });

  describe('real key, one thing wrong', () => {
    const nowS = () => Math.floor(Date.now() / 1000);
    it.each<[string, () => { header?: Header; claims?: Claims; omit?: string[] }]>([
      ['typ JWT', () => ({ header: { typ: 'JWT' } })],
      ['typ jwt', () => ({ header: { typ: 'jwt' } })],
      ['typ application/jwt', () => ({ header: { typ: 'application/jwt' } })],
      ['no typ', () => ({ header: { typ: undefined } })],
      ['a wrong issuer', () => ({ claims: { iss: 'https://evil.example' } })],
      ['the issuer with a trailing slash', () => ({ claims: { iss: `${t.config.issuer}/` } })],
      ['no issuer', () => ({ omit: ['iss'] })],
      ['a wrong audience', () => ({ claims: { aud: 'https://other-api.example' } })],
      ['an audience list without ours', () => ({ claims: { aud: ['https://other-api.example', 'https://third.example'] } })],
      ['no audience', () => ({ omit: ['aud'] })],
      ['exp in the past', () => ({ claims: { exp: nowS() - 3600 } })],
      ['exp as a string', () => ({ claims: { exp: String(nowS() + 300) } })],
      ['no exp', () => ({ omit: ['exp'] })],
      ['nbf in the future', () => ({ claims: { nbf: nowS() + 3600 } })],
      ['no jti', () => ({ omit: ['jti'] })],
      ['a numeric jti', () => ({ claims: { jti: 12345 } })],
      ['no sub', () => ({ omit: ['sub'] })],
      ['no client_id', () => ({ omit: ['client_id'] })],
      ['no iat_ms', () => ({ omit: ['iat_ms'] })],
      ['iat_ms as a string', () => ({ claims: { iat_ms: String(Date.now()) } })],
      ['no iat', () => ({ omit: ['iat'] })],
      ['iat as a string', () => ({ claims: { iat: 'x' } })],
      ['iat_ms that disagrees with iat', () => ({ claims: { iat_ms: Date.now() + 3_600_000 } })],
      ['iat and iat_ms a day in the future', () => ({ claims: { iat: nowS() + 86400, iat_ms: (nowS() + 86400) * 1000 } })],
    ])('refuses %s', async (_name, change) => {
      expectInvalidToken(await userinfo(t, await forge(change())));
    });

    it('accepts typ at+jwt in any case and as application/at+jwt (RFC 9068 section 4, media types are case-insensitive)', async () => {
      for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt']) {
        expect((await userinfo(t, await forge({ header: { typ } }))).status).toBe(200);
      }
    });
  });

  describe('a real token, altered', () => {
    const alter = (token: string, change: (claims: Record<string, any>) => void) => {
      const [header, payload, signature] = token.split('.');
      const claims = decodeSegment(payload);
      change(claims);
      return `${header}.${b64url(claims)}.${signature}`;
    };

    it.each([
      ['roles raised to admin', (c: Record<string, any>) => (c.roles = ['admin'])],
      ['another sub', (c: Record<string, any>) => (c.sub = randomUUID())],
      ['exp pushed a day later', (c: Record<string, any>) => (c.exp += 86400)],
      ['a wider scope', (c: Record<string, any>) => (c.scope = 'read write admin')],
      ['sid removed', (c: Record<string, any>) => delete c.sid],
    ])('refuses the payload with %s and the signature kept', async (_name, change) => {
      expectInvalidToken(await userinfo(t, alter(realToken, change)));
    });

    it('refuses the header changed (typ) with the signature kept', async () => {
      const [, payload, signature] = realToken.split('.');
      const header = b64url({ ...headerOf(realToken), typ: 'application/at+jwt' });
      expectInvalidToken(await userinfo(t, `${header}.${payload}.${signature}`));
    });

    it('refuses the signature removed, emptied or taken from another token', async () => {
      const [header, payload] = realToken.split('.');
      const other = (await forge()).split('.')[2];
      expectInvalidToken(await userinfo(t, `${header}.${payload}`));
      expectInvalidToken(await userinfo(t, `${header}.${payload}.`));
      expectInvalidToken(await userinfo(t, `${header}.${payload}.${other}`));
    });

    it('refuses a signature with one bit flipped', async () => {
      const [header, payload, signature] = realToken.split('.');
      const bytes = Buffer.from(signature, 'base64url');
      bytes[10] ^= 1;
      expectInvalidToken(await userinfo(t, `${header}.${payload}.${bytes.toString('base64url')}`));
    });
  });

  describe('size', () => {
    /** Tokens signed with the real key, every claim right, with a padding claim making them as long as needed. */
    async function paddedTokens(): Promise<{ under: string; over: string }> {
      const claims = validClaims();
      const sign = (n: number) => forge({ claims: { ...claims, pad: 'x'.repeat(n) } });
      let n = Math.floor(((MAX_TOKEN_BYTES - (await sign(0)).length) * 3) / 4) - 8;
      let under = await sign(n);
      let over = under;
      while (over.length <= MAX_TOKEN_BYTES) {
        under = over;
        over = await sign(++n);
      }
      return { under, over };
    }

    it(`refuses a validly signed token over ${MAX_TOKEN_BYTES} bytes, and accepts the same just under`, async () => {
      const { under, over } = await paddedTokens();
      expect(under.length).toBeLessThanOrEqual(MAX_TOKEN_BYTES);
      expect(under.length).toBeGreaterThan(MAX_TOKEN_BYTES - 4);
      expect(over.length).toBeGreaterThan(MAX_TOKEN_BYTES);
      expect((await userinfo(t, under)).status).toBe(200);
      expectInvalidToken(await userinfo(t, over));
    });

    it('refuses a much larger validly signed token that still fits in an HTTP header', async () => {
      const token = await forge({ claims: { pad: 'x'.repeat(10 * 1024) } });
      expect(token.length).toBeGreaterThan(13 * 1024);
      expectInvalidToken(await userinfo(t, token));
    });

    it("refuses a token past the HTTP server's header limit before the app sees it (431)", async () => {
      const res = await userinfo(t, await forge({ claims: { pad: 'x'.repeat(16 * 1024) } }));
      expect(res.status).toBe(431);
    });
  });

  describe('malformed', () => {
    it.each([
      ['one word', 'abc'],
      ['two segments of nothing', '.'],
      ['three empty segments', '..'],
      ['four segments', `${'e30'}.${'e30'}.${'e30'}.${'e30'}`],
      ['a header that is not JSON', `${b64url('not json')}.${b64url({})}.AAAA`],
      ['a JWE-shaped token', `${b64url({ alg: 'dir', enc: 'A256GCM' })}....`],
    ])('refuses %s', async (_name, token) => {
      expectInvalidToken(await userinfo(t, token));
    });
  });
});
