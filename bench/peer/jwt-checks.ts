import type { Algorithm } from 'jsonwebtoken';
import { ExtractJwt } from 'passport-jwt';

/** Latchkey's base URL (LATCHKEY_URL, without a trailing slash): the peer's JWKS is under it. */
export const latchkey = (process.env.LATCHKEY_URL ?? '').replace(/\/+$/, '');
if (!latchkey) throw new Error('LATCHKEY_URL is required (Latchkey\'s base URL)');

/**
 * What both strategies check besides the signature: a bearer token, ES256, `iss` and `aud` =
 * Latchkey's issuer unless LATCHKEY_ISSUER / LATCHKEY_AUDIENCE say otherwise (passport-jwt checks
 * `exp` too).
 */
export const jwtChecks = {
  jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
  issuer: process.env.LATCHKEY_ISSUER ?? latchkey,
  audience: process.env.LATCHKEY_AUDIENCE ?? latchkey,
  algorithms: ['ES256'] as Algorithm[],
};
