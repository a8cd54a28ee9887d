import { randomUUID, type KeyObject } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { KeyService } from '../../src/tokens/keys/key.service.js';
import type { TestApp } from './test-app.js';

/**
 * JWT helpers for the e2e suites: reading a token's header and claims (unverified), base64url of
 * a header or payload, and forging access tokens with the server's own signing key.
 */

export type Claims = Record<string, unknown>;
export type Header = Record<string, unknown>;

/** base64url of a string as it is, or of any other value's JSON: one segment of a compact JWS. */
export const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The JSON object in one base64url segment of a compact JWS. */
export const decodeSegment = (segment: string): Record<string, any> => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));

/** A token's protected header, unverified. */
export const headerOf = (token: string): Record<string, any> => decodeSegment(token.split('.')[0]);

/** A token's claims, unverified (jose's decodeJwt: throws unless it is a three-part JWS with a JSON object payload). */
export const claimsOf = (token: string): Record<string, any> => decodeJwt(token);

/** The server's active signing key, as it signs access tokens with it. */
export const serverSigningKey = (t: TestApp): { kid: string; privateKey: KeyObject } => t.app.get(KeyService).signingKey();

/**
 * The claims of a valid access token, as the server issues them: issued now (iat and iat_ms),
 * expiring in 300 s, with a fresh jti. `sid` is left out when not given.
 */
export function accessTokenClaims(t: TestApp, who: { sub: string; clientId: string; sid?: string; scope: string }): Claims {
  const nowMs = Date.now();
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: t.config.issuer,
    sub: who.sub,
    aud: t.config.accessTokenAudience,
    client_id: who.clientId,
    ...(who.sid === undefined ? {} : { sid: who.sid }),
    scope: who.scope,
    roles: [],
    jti: randomUUID(),
    iat,
    exp: iat + 300,
    iat_ms: nowMs,
  };
}

export interface ForgeChange {
  /** Claims set over the base claims. */
  claims?: Claims;
  /** Claims removed after that. */
  omit?: string[];
  /** Header parameters set over alg ES256, typ at+jwt and the signing key's kid; an undefined value removes the parameter. */
  header?: Header;
  /** Signs with this key instead of the signing key (the header's kid stays the signing key's unless changed). */
  key?: KeyObject | Uint8Array;
}

/**
 * A token signed with `signingKey` (normally the server's, see serverSigningKey) over `base` claims
 * with the given changes. Checks that the header came out with exactly the parameters asked for.
 */
export async function forgeToken(signingKey: { kid: string; privateKey: KeyObject }, base: Claims, change: ForgeChange = {}): Promise<string> {
  const claims: Claims = { ...base, ...change.claims };
  for (const name of change.omit ?? []) delete claims[name];
  const header: Header = { alg: 'ES256', typ: 'at+jwt', kid: signingKey.kid, ...change.header };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  const token = await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(change.key ?? signingKey.privateKey);
  expect(Object.keys(headerOf(token)).sort()).toEqual(Object.keys(header).sort());
  return token;
}
