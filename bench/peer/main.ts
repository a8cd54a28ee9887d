/**
 * The peer: the typical stateless NestJS service, as most tutorials write it (Nest defaults: the
 * Express adapter, Nest's own logger, no per-request logging), with one route, `GET /me`, behind
 * `AuthGuard('jwt')` (passport-jwt, ES256, keys from Latchkey's JWKS through jwks-rsa). It checks a
 * token's signature, issuer, audience and expiry, and nothing else: a revoked token still works.
 * The `peer` bench scenario measures Latchkey's protected route against it.
 *
 * Env: PORT (default 3001), LATCHKEY_URL (Latchkey's base URL: its JWKS is
 * `<LATCHKEY_URL>/.well-known/jwks.json`, and it is the expected `iss` and `aud` unless
 * LATCHKEY_ISSUER / LATCHKEY_AUDIENCE say otherwise), HOST (default 127.0.0.1), PEER_KEYS
 * (`jwks-rsa`, the default and the tutorial way, or `keyobject`: see app.module.ts).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // A plain exit on SIGTERM (the bench stops it so), so that --cpu-prof gets to write its profile.
  process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
  await app.listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1');
}

bootstrap().catch((err: Error) => {
  process.stderr.write(`peer failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
