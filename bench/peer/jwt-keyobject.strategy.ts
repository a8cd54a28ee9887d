import { type JsonWebKey, type KeyObject, createPublicKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import { jwtChecks } from './jwt-checks.js';

/** The issuer's signing keys by `kid`, read once at start-up. */
export const JWKS_KEYS = Symbol('JWKS_KEYS');

/** Fetches a JWKS and builds a public `KeyObject` of each EC signing key, by `kid`. */
export async function fetchJwks(url: string): Promise<Map<string, KeyObject>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  const { keys } = (await res.json()) as { keys: (JsonWebKey & { kid?: string; use?: string })[] };
  const out = new Map<string, KeyObject>();
  for (const jwk of keys) {
    if (jwk.kid && jwk.kty === 'EC' && (jwk.use ?? 'sig') === 'sig') out.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
  }
  if (!out.size) throw new Error(`${url} has no EC signing key`);
  return out;
}

function kidOf(raw: string): string | undefined {
  try {
    return (JSON.parse(Buffer.from(raw.slice(0, raw.indexOf('.')), 'base64url').toString('utf8')) as { kid?: string }).kid;
  } catch {
    return undefined;
  }
}

/**
 * The same strategy as JwtStrategy with the keys held as `KeyObject`s built once (the variant a
 * careful team writes, PEER_KEYS=keyobject): jsonwebtoken then skips parsing a PEM on every request.
 */
@Injectable()
export class KeyObjectJwtStrategy extends PassportStrategy(Strategy) {
  constructor(@Inject(JWKS_KEYS) keys: Map<string, KeyObject>) {
    super(<StrategyOptionsWithoutRequest>(<unknown>{
      secretOrKeyProvider: (_req: unknown, raw: string, done: (err: unknown, key?: KeyObject) => void) => {
        const key = keys.get(kidOf(raw) ?? '');
        if (key) done(null, key);
        else done(new Error('unknown signing key'));
      },
      ...jwtChecks,
    }));
  }

  validate(payload: Record<string, unknown>): Record<string, unknown> {
    return payload;
  }
}
